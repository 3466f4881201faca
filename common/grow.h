/*
 * grow.h: the one growable-array helper of the tree (header only, so the pure
 * libraries maps/ and proto/ may use it too: it does no I/O and logs nothing).
 *
 *	if (grow(&v, &cap, n + 1, sizeof(*v), 16) == -1)
 *		... out of memory: v, cap and the n elements are unchanged ...
 *	v[n++] = x;
 */
#ifndef LC_GROW_H
#define LC_GROW_H

#include <stdint.h>
#include <stdlib.h>

/*
 * Make room for need elements of elsz bytes in *p, whose capacity is *cap
 * elements: the capacity doubles from first (or from *cap) until it holds
 * need. 0, or -1 when the size would overflow or realloc fails; on -1 *p and
 * *cap are unchanged (the caller still owns *p).
 */
static inline int
grow(void *p, size_t *cap, size_t need, size_t elsz, size_t first)
{
	void **pp = p, *np;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : first;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elsz || (np = realloc(*pp, ncap * elsz)) == NULL)
		return -1;
	*pp = np;
	*cap = ncap;
	return 0;
}

#endif

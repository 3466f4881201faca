/*
 * provision.h: the fleet's identities and the broker configuration made from
 * them (`linecrew provision ...`). The PKI directory is the device registry:
 *
 *   PKI/ca.key ca.crt              the fleet CA (key 0600)
 *   PKI/gateway.key gateway.crt    the gateway's identity: TLS client certificate
 *                                  (CN=linecrew-gateway), ECDSA/ECDH key
 *   PKI/gateway.pub                its public key, shipped to every device
 *   PKI/broker.key broker.crt      the broker's TLS server certificate (CN=localhost)
 *   PKI/serial                     last certificate serial issued
 *   PKI/revoked                    one revoked device id per line
 *   PKI/devices/<dev>/             a device's bundle, copied to the unit as is:
 *       device.key device.crt ca.crt gateway.pub device.conf
 *
 * The broker's mosquitto.conf and ACL are generated from it: a TLS listener with
 * require_certificate, the certificate's CN as the user name and the user name
 * as the client id, and per-identity ACL entries (revoked devices get none).
 * Every file is written new-file + fsync + rename; keys 0600.
 */
#ifndef LC_PROVISION_H
#define LC_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#define PROVISION_GATEWAY_CN	"linecrew-gateway"
#define PROVISION_BROKER_CN	"localhost"
#define PROVISION_CA_DAYS	3650
#define PROVISION_CERT_DAYS	825

/* Broker settings written into mosquitto.conf. */
struct provision_broker {
	int		port;		/* TLS listener on 127.0.0.1 (or bind) */
	const char     *bind;		/* NULL = 127.0.0.1 */
	int		dev_plain_port;	/* 0 = none; else a loopback-only plain listener
					 * for development, stated as such in the file */
	const char     *persist_dir;	/* persistence_location */
	int		max_queued;	/* per-client queue cap (messages) */
};

/* Create the CA, the gateway's and the broker's identities. Refuses an existing CA. */
int	provision_init(const char *pki, int64_t now_ms, char *err, size_t errcap);
/* Issue (or re-issue) a device's identity and bundle, its certificate valid
 * from now_ms for days (0 = PROVISION_CERT_DAYS). A revoked id stays revoked. */
int	provision_device(const char *pki, const char *dev, const char *mqtt_host,
	    int mqtt_port, int64_t now_ms, int days, char *err, size_t errcap);
/* Revoke a device: listed in PKI/revoked; the next ACL omits it. */
int	provision_revoke(const char *pki, const char *dev, char *err, size_t errcap);
/* 1 revoked, 0 not, -1 error. */
int	provision_is_revoked(const char *pki, const char *dev);
/* Write OUT/mosquitto.conf and OUT/acl for the current registry. */
int	provision_broker(const char *pki, const char *out_dir, const struct provision_broker *,
	    char *err, size_t errcap);
/* Call cb for every provisioned device id (revoked ones too), in name order. */
int	provision_devices(const char *pki, void (*cb)(void *, const char *dev, int revoked),
	    void *arg, char *err, size_t errcap);

#endif

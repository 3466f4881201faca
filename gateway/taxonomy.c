/*
 * taxonomy.c: the business taxonomy of 第十八条 as data: 10 types and 44
 * categories with their Chinese and English names, and the grade of each
 * complaint category (一般 general / 重要 important).
 *
 * The category numbers 1..44 are those of the rules digest
 * (../shared/95598-rules.md), so a category id alone names one category; the
 * type of an order must be the type its category belongs to (intake checks
 * taxonomy_matches). Pure, constant data: no I/O, nothing that changes. The
 * time limits of each type are not here but in the profile (sla.c).
 */
#include <string.h>

#include "gateway.h"

static const struct {
	const char *code, *zh, *en;
} types[TYPE_N] = {
	[TYPE_REPAIR] = { "repair", "故障报修", "fault repair" },
	[TYPE_CONSULTATION] = { "consultation", "咨询", "consultation" },
	[TYPE_QUERY] = { "query", "查询", "query" },
	[TYPE_COMPLAINT] = { "complaint", "投诉", "complaint" },
	[TYPE_APPEAL] = { "appeal", "诉求", "appeal" },
	[TYPE_REPORT] = { "report", "举报", "report" },
	[TYPE_SUGGESTION] = { "suggestion", "建议", "suggestion" },
	[TYPE_OPINION] = { "opinion", "意见", "opinion" },
	[TYPE_PRAISE] = { "praise", "表扬", "praise" },
	[TYPE_INSTALLATION] = { "installation", "报装", "installation" },
};

#define R	TYPE_REPAIR
#define C	TYPE_CONSULTATION
#define Q	TYPE_QUERY
#define P	TYPE_COMPLAINT
#define A	TYPE_APPEAL
#define G	GRADE_GENERAL
#define I	GRADE_IMPORTANT
#define N	GRADE_NONE
static const struct tx_category categories[TAXONOMY_NCATEGORIES] = {
	{ 1, R, N, "外力破坏", "external damage" },
	{ 2, R, N, "线路故障停电", "line fault outage" },
	{ 3, R, N, "箱变、区变故障停电", "box / area transformer fault outage" },
	{ 4, R, N, "变压器过负荷停电", "transformer overload outage" },
	{ 5, R, N, "低压保险故障停电", "low-voltage fuse fault outage" },
	{ 6, R, N, "电能表故障", "electricity meter fault" },
	{ 7, R, N, "客户内部原因故障", "customer-internal fault" },
	{ 8, C, N, "计划停电", "planned outage" },
	{ 9, C, N, "故障停电", "fault outage" },
	{ 10, C, N, "电价电费", "tariffs and bills" },
	{ 11, C, N, "用电业务", "service business" },
	{ 12, C, N, "计量装置", "metering equipment" },
	{ 13, C, N, "用电常识", "electricity know-how" },
	{ 14, C, N, "故障报修处理进度", "repair progress" },
	{ 15, Q, N, "电量、电费查询", "consumption / bill query" },
	{ 16, Q, N, "报装进度", "installation progress" },
	{ 17, Q, N, "其它", "other" },
	{ 18, P, G, "线路频繁停电", "frequent outages" },
	{ 19, P, G, "电压质量不合格", "poor voltage quality" },
	{ 20, P, G, "家电损坏", "appliance damage" },
	{ 21, P, G, "收费不合理", "unreasonable charges" },
	{ 22, P, G, "电价不正确", "wrong tariff" },
	{ 23, P, G, "欠费超期复电", "late reconnection after arrears" },
	{ 24, P, G, "故障停电处理时间超期", "fault outage handled too late" },
	{ 25, P, G, "违反承诺工作时限", "promised time limit broken" },
	{ 26, P, G, "错停电", "wrongful disconnection" },
	{ 27, P, G, "工作质量", "work quality" },
	{ 28, P, G, "野蛮施工", "reckless construction" },
	{ 29, P, I, "服务态度", "service attitude" },
	{ 30, P, I, "行风问题", "misconduct" },
	{ 31, A, N, "电费通知单内容咨询", "bill notice content" },
	{ 32, A, N, "基础信息错误", "wrong account data" },
	{ 33, A, N, "电费通知单未送达", "bill notice not delivered" },
	{ 34, A, N, "欠费要求复电", "in arrears, asks for reconnection" },
	{ 35, A, N, "电能表问题", "meter problem" },
	{ 36, A, N, "安全隐患", "safety hazard" },
	{ 37, A, N, "用电量问题", "consumption problem" },
	{ 38, A, N, "计量装置问题", "metering equipment problem" },
	{ 39, A, N, "其它", "other" },
	{ 40, TYPE_REPORT, N, "举报", "report (whistle-blowing)" },
	{ 41, TYPE_SUGGESTION, N, "建议", "suggestion" },
	{ 42, TYPE_OPINION, N, "意见", "opinion" },
	{ 43, TYPE_PRAISE, N, "表扬", "praise" },
	{ 44, TYPE_INSTALLATION, N, "报装预约", "installation appointment" },
};
#undef R
#undef C
#undef Q
#undef P
#undef A
#undef G
#undef I
#undef N

const char *
taxonomy_type_name(enum order_type t)
{
	return (unsigned)t < TYPE_N ? types[t].code : "unknown";
}

const char *
taxonomy_type_zh(enum order_type t)
{
	return (unsigned)t < TYPE_N ? types[t].zh : "";
}

const char *
taxonomy_type_en(enum order_type t)
{
	return (unsigned)t < TYPE_N ? types[t].en : "";
}

int
taxonomy_type_parse(const char *s, enum order_type *out)
{
	for (int i = 0; i < TYPE_N; i++)
		if (strcmp(s, types[i].code) == 0) {
			*out = (enum order_type)i;
			return 0;
		}
	return -1;
}

const struct tx_category *
taxonomy_category(int id)
{
	if (id < 1 || id > TAXONOMY_NCATEGORIES)
		return NULL;
	return &categories[id - 1];
}

const char *
taxonomy_grade_name(enum complaint_grade g)
{
	switch (g) {
	case GRADE_GENERAL:
		return "general";
	case GRADE_IMPORTANT:
		return "important";
	case GRADE_NONE:
	default:
		return "";
	}
}

int
taxonomy_matches(enum order_type t, int category)
{
	const struct tx_category *c = taxonomy_category(category);

	return c != NULL && c->type == t;
}

/*
 * demogen: the demo county generator. One PRNG stream names the province,
 * prefectures and counties; each county then draws from its own stream, so a
 * province of 80 counties holds the same county 1 as a province of 2. Names
 * are composed from syllable tables with their pinyin (石湾村, Shiwan
 * Village); plans, stages and done dates follow one progress model that the
 * simulator reuses, so the story continues from what the registry says.
 */
#include "demogen.h"

#include "cst.h"
#include "xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

void demogen_rng_seed(struct demogen_rng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t demogen_rng_next(struct demogen_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

int64_t demogen_rng_range(struct demogen_rng *rng, int64_t lo, int64_t hi)
{
	return hi <= lo ? lo : lo + (int64_t)(demogen_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

double demogen_rng_unit(struct demogen_rng *rng) { return (double)(demogen_rng_next(rng) >> 11) * 0x1.0p-53; }

uint64_t demogen_hash(uint64_t a, uint64_t b)
{
	uint64_t state = a * 0xd1342543de82ef95u + b;
	return splitmix64(&state);
}

/* ---- tables ---- */

const char *const demogen_stage_keys[] = {
	"approved", "publicised", "started", "completed", "accepted", "completion_notice", "asset_registered", NULL,
};
enum { STAGE_APPROVED, STAGE_PUBLICISED, STAGE_STARTED, STAGE_COMPLETED };

const char *const demogen_reasons[3] = { "户名与身份证号不符", "卡已注销", "账户冻结" };

/* the departments that run projects; the last two only pay card subsidies */
enum department { DEP_AGRICULTURE, DEP_FORESTRY, DEP_TOURISM, DEP_OFFICE, DEP_COMMERCE, DEP_DEVELOPMENT, DEP_INDUSTRY };
const char *const demogen_departments[] = {
	"县农业农村局", "县林业局", "县文旅局", "县扶贫办", "县商务局", "县发改局", "县工信局", "县人社局", "县教育局", NULL,
};

const struct demogen_fund demogen_funds[DEMOGEN_FUNDS] = {
	[DEMOGEN_FUND_INDUSTRY] = { "产业奖补", "县农业农村局", 300000 },
	[DEMOGEN_FUND_WELFARE_JOB] = { "公益岗位补贴", "县人社局", 50000 },
	[DEMOGEN_FUND_EDUCATION] = { "教育资助", "县教育局", 150000 },
	[DEMOGEN_FUND_FORESTER] = { "生态护林员补助", "县林业局", 80000 },
	[DEMOGEN_FUND_INDUSTRY_OFFICE] = { "产业奖补", "县扶贫办", 300000 },
};

static const char *const category_keys[DEMOGEN_CATEGORIES] = {
	"planting", "breeding", "processing", "tourism", "ecommerce", "photovoltaic",
};
static const int category_weights[DEMOGEN_CATEGORIES] = { 30, 24, 14, 10, 10, 12 };
/* approved investment in units of 10,000 yuan (万元) */
static const int invest_wan[DEMOGEN_CATEGORIES][2] = { {30, 300}, {50, 500}, {80, 1000}, {100, 800}, {20, 200}, {60, 300} };

/* the three every plan shares, then three works for each category in demogen_category order */
const char *const demogen_milestone_names[] = {
	"项目公示", "竣工验收", "资产移交登记", "土地整理", "种苗栽植", "水肥一体化配套", "圈舍建设", "防疫设施配套",
	"引种入栏", "厂房建设", "设备安装调试", "试生产", "民宿改造", "景观配套", "开业运营", "站点装修", "平台上线",
	"物流配送体系", "支架基础施工", "组件安装", "并网发电", NULL,
};
enum { MS_PUBLICITY, MS_ACCEPTANCE, MS_ASSET, MS_WORKS };

struct project_template {
	const char *product, *suffix;
	uint8_t department;
};
static const struct project_template templates[DEMOGEN_CATEGORIES][8] = {
	[DEMOGEN_PLANTING] = { {"小杂粮", "种植基地建设项目", DEP_AGRICULTURE}, {"山地苹果", "示范园建设项目", DEP_FORESTRY},
		{"设施蔬菜", "大棚建设项目", DEP_AGRICULTURE}, {"马铃薯", "良种繁育基地项目", DEP_AGRICULTURE},
		{"中药材", "种植基地项目", DEP_AGRICULTURE}, {"红枣", "提质增效项目", DEP_FORESTRY},
		{"花椒", "种植基地项目", DEP_FORESTRY}, {"食用菌", "种植大棚项目", DEP_AGRICULTURE} },
	[DEMOGEN_BREEDING] = { {"湖羊", "养殖场建设项目", DEP_AGRICULTURE}, {"肉牛", "养殖小区项目", DEP_AGRICULTURE},
		{"生猪", "代养场建设项目", DEP_AGRICULTURE}, {"蛋鸡", "养殖场项目", DEP_AGRICULTURE},
		{"中蜂", "养殖基地项目", DEP_AGRICULTURE}, {"白绒山羊", "良种繁育项目", DEP_AGRICULTURE} },
	[DEMOGEN_PROCESSING] = { {"小杂粮", "加工厂建设项目", DEP_INDUSTRY}, {"荞麦面", "加工车间项目", DEP_INDUSTRY},
		{"苹果", "分选冷库建设项目", DEP_AGRICULTURE}, {"马铃薯淀粉", "加工项目", DEP_INDUSTRY},
		{"饲草", "加工配送中心项目", DEP_AGRICULTURE}, {"", "扶贫车间建设项目", DEP_OFFICE} },
	[DEMOGEN_TOURISM] = { {"", "乡村民宿改造项目", DEP_TOURISM}, {"", "农家乐提升项目", DEP_TOURISM},
		{"", "红色旅游配套设施项目", DEP_TOURISM}, {"", "田园综合体项目", DEP_TOURISM} },
	[DEMOGEN_ECOMMERCE] = { {"", "电商服务站建设项目", DEP_COMMERCE}, {"", "农村电商物流配送中心项目", DEP_COMMERCE},
		{"", "直播带货基地项目", DEP_COMMERCE}, {"农特产品", "线上销售平台项目", DEP_COMMERCE} },
	[DEMOGEN_PHOTOVOLTAIC] = { {"", "村级光伏电站项目", DEP_DEVELOPMENT}, {"", "光伏扶贫电站项目", DEP_OFFICE} },
};

struct syllable {
	const char *zh, *py;
};
#define COUNT(a) (sizeof (a) / sizeof (a)[0])
static const struct syllable first_syllables[] = {
	{"张", "zhang"}, {"王", "wang"}, {"李", "li"}, {"杨", "yang"}, {"刘", "liu"}, {"高", "gao"}, {"马", "ma"}, {"白", "bai"}, {"郝", "hao"}, {"贺", "he"},
	{"冯", "feng"}, {"郭", "guo"}, {"曹", "cao"}, {"雷", "lei"}, {"呼", "hu"}, {"惠", "hui"}, {"薛", "xue"}, {"艾", "ai"}, {"乔", "qiao"}, {"石", "shi"},
	{"柳", "liu"}, {"杏", "xing"}, {"枣", "zao"}, {"桃", "tao"}, {"榆", "yu"}, {"柏", "bai"}, {"沙", "sha"}, {"黄", "huang"}, {"红", "hong"}, {"青", "qing"},
	{"龙", "long"}, {"海", "hai"}, {"宁", "ning"}, {"安", "an"}, {"五", "wu"}, {"双", "shuang"}, {"周", "zhou"}, {"韩", "han"}, {"苗", "miao"}, {"席", "xi"},
};
static const struct syllable place_syllables[] = {
	{"湾", "wan"}, {"沟", "gou"}, {"峁", "mao"}, {"梁", "liang"}, {"坪", "ping"}, {"塬", "yuan"}, {"畔", "pan"}, {"河", "he"}, {"岔", "cha"}, {"庄", "zhuang"},
	{"台", "tai"}, {"渠", "qu"}, {"崖", "ya"}, {"窑", "yao"}, {"滩", "tan"}, {"洼", "wa"}, {"寨", "zhai"}, {"堡", "bao"}, {"口", "kou"}, {"涧", "jian"},
	{"园", "yuan"}, {"城", "cheng"}, {"店", "dian"}, {"营", "ying"}, {"坊", "fang"}, {"泉", "quan"}, {"井", "jing"}, {"川", "chuan"},
};
static const struct syllable middle_syllables[] = {
	{"桥", "qiao"}, {"河", "he"}, {"山", "shan"}, {"水", "shui"}, {"石", "shi"}, {"新", "xin"}, {"大", "da"}, {"小", "xiao"}, {"东", "dong"}, {"西", "xi"},
	{"南", "nan"}, {"北", "bei"}, {"前", "qian"}, {"后", "hou"}, {"上", "shang"}, {"下", "xia"}, {"中", "zhong"}, {"柳", "liu"}, {"沙", "sha"}, {"杨", "yang"},
};
static const struct syllable neighbourhoods[] = {
	{"东关", "dongguan"}, {"西街", "xijie"}, {"南关", "nanguan"}, {"北关", "beiguan"}, {"新华", "xinhua"}, {"团结", "tuanjie"}, {"胜利", "shengli"}, {"幸福", "xingfu"},
	{"长城", "changcheng"}, {"和平", "heping"}, {"建设", "jianshe"}, {"振兴", "zhenxing"}, {"文化", "wenhua"}, {"朝阳", "chaoyang"}, {"育才", "yucai"},
};
static const struct {
	int code;
	const char *zh, *en;
} provinces[] = {
	{11, "北京市", "Beijing"}, {13, "河北省", "Hebei Province"}, {14, "山西省", "Shanxi Province"}, {15, "内蒙古自治区", "Inner Mongolia"}, {22, "吉林省", "Jilin Province"},
	{34, "安徽省", "Anhui Province"}, {36, "江西省", "Jiangxi Province"}, {41, "河南省", "Henan Province"}, {42, "湖北省", "Hubei Province"}, {43, "湖南省", "Hunan Province"},
	{45, "广西壮族自治区", "Guangxi"}, {50, "重庆市", "Chongqing"}, {51, "四川省", "Sichuan Province"}, {52, "贵州省", "Guizhou Province"}, {53, "云南省", "Yunnan Province"},
	{54, "西藏自治区", "Tibet"}, {61, "陕西省", "Shaanxi Province"}, {62, "甘肃省", "Gansu Province"}, {63, "青海省", "Qinghai Province"}, {64, "宁夏回族自治区", "Ningxia"},
	{65, "新疆维吾尔自治区", "Xinjiang"},
};

/* ---- building ---- */

static uint32_t pool_add(struct demogen *g, const char *text)
{
	size_t length = strlen(text) + 1;
	if (g->pool_len + length > g->pool_cap) {
		g->pool_cap = (g->pool_len + length) * 2;
		g->pool = xreallocarray(g->pool, g->pool_cap, 1);
	}
	memcpy(g->pool + g->pool_len, text, length);
	g->pool_len += length;
	return (uint32_t)(g->pool_len - length);
}

static const struct syllable *pick(struct demogen_rng *rng, const struct syllable *table, size_t count)
{
	return &table[demogen_rng_range(rng, 0, (int64_t)count - 1)];
}

/* A place name like 石湾, 张家畔 or 杨桥畔, with its pinyin capitalised. */
static void compose_place(struct demogen_rng *rng, char *zh, size_t zh_cap, char *py, size_t py_cap)
{
	const struct syllable *first = pick(rng, first_syllables, COUNT(first_syllables));
	const struct syllable *last = pick(rng, place_syllables, COUNT(place_syllables));
	static const struct syllable jia = { "家", "jia" }, none = { "", "" };
	int pattern = (int)demogen_rng_range(rng, 0, 99);
	const struct syllable *middle = pattern < 45 ? &none : pattern < 80 ? &jia
				      : pick(rng, middle_syllables, COUNT(middle_syllables));
	if (strcmp(middle->zh, first->zh) == 0 || strcmp(middle->zh, last->zh) == 0)
		middle = &none;
	snprintf(zh, zh_cap, "%s%s%s", first->zh, middle->zh, last->zh);
	snprintf(py, py_cap, "%s%s%s", first->py, middle->py, last->py);
	py[0] = (char)(py[0] - 'a' + 'A');
}

static bool sibling_named(const struct demogen *g, size_t first_sibling, const char *name)
{
	for (size_t i = first_sibling; i < g->region_count; i++)
		if (strcmp(demogen_str(g, g->regions[i].name), name) == 0)
			return true;
	return false;
}

static size_t add_region(struct demogen *g, const char *code, enum regcode_level level, int32_t parent,
			 const char *zh, const char *en)
{
	size_t i = g->region_count++;
	g->regions[i] = (struct demogen_region){ .level = (uint8_t)level, .parent = parent, .name = pool_add(g, zh),
						 .name_en = pool_add(g, en) };
	memcpy(g->regions[i].code, code, REGCODE_SIZE);
	return i;
}

/* A region named [place][suffix], unique among the siblings that start at first_sibling. */
static size_t add_named_region(struct demogen *g, struct demogen_rng *rng, const char *code, enum regcode_level level,
			       int32_t parent, size_t first_sibling, const char *suffix_zh, const char *suffix_en)
{
	char place[64], pinyin[64], zh[96], en[96];
	bool renamed = false;
	/* a crowded township falls back to 新X (as new settlements are named); past that, repeats are allowed */
	for (int attempt = 0; attempt < 1000; attempt++) {
		renamed = attempt >= 20;
		compose_place(rng, place, sizeof place, pinyin, sizeof pinyin);
		snprintf(zh, sizeof zh, "%s%s%s", renamed ? "新" : "", place, suffix_zh);
		if (!sibling_named(g, first_sibling, zh))
			break;
	}
	if (renamed)
		pinyin[0] = (char)(pinyin[0] - 'A' + 'a');
	snprintf(en, sizeof en, "%s%s%s", renamed ? "Xin" : "", pinyin, suffix_en);
	return add_region(g, code, level, parent, zh, en);
}

static void village_baseline(struct demogen_region *v, struct demogen_rng *rng, bool neighbourhood)
{
	v->population = (uint32_t)(neighbourhood ? demogen_rng_range(rng, 2000, 8000) : demogen_rng_range(rng, 500, 3500));
	double incidence = neighbourhood ? 0.01 + 0.03 * demogen_rng_unit(rng) : 0.06 + 0.22 * demogen_rng_unit(rng);
	int people = (int)(v->population * incidence);
	v->poor_people = (uint16_t)(people < 3 ? 3 : people);
	int households = (int)(v->poor_people / (2.6 + 0.8 * demogen_rng_unit(rng)));
	v->poor_hh = (uint16_t)(households < 1 ? 1 : households);
	int monitored = (int)lround(v->population / 3.1 * (0.005 + 0.015 * demogen_rng_unit(rng)));
	v->monitored_hh = (uint16_t)(monitored < 1 ? 1 : monitored);
	v->income_yuan = (uint16_t)demogen_rng_range(rng, 5200, 9800);
	v->exited_pct = (uint8_t)demogen_rng_range(rng, 45, 85);
}

/* Split `total` villages over `count` townships: uneven, each 1..per_township_max. */
static void spread_villages(struct demogen_rng *rng, int total, int count, int per_township_max, int *out)
{
	double weight[400], sum = 0;
	for (int t = 0; t < count; t++)
		sum += weight[t] = 0.6 + 0.8 * demogen_rng_unit(rng);
	int assigned = 0;
	for (int t = 0; t < count; t++) {
		int n = (int)(total * weight[t] / sum);
		out[t] = n < 1 ? 1 : n > per_township_max ? per_township_max : n;
		assigned += out[t];
	}
	/* rounding leaves the sum off by a few: one at a time, wherever there is room */
	for (int t = 0; assigned != total; t = (t + 1) % count) {
		int step = assigned < total ? 1 : -1;
		if (step > 0 ? out[t] < per_township_max : out[t] > 1)
			out[t] += step, assigned += step;
	}
}

static void plan_milestones(struct demogen *g, struct demogen_project *p, struct demogen_rng *rng)
{
	static const uint8_t works[DEMOGEN_CATEGORIES] = { 3, 6, 9, 12, 15, 18 };
	int count = (int)demogen_rng_range(rng, 3, DEMOGEN_MAX_MILESTONES);
	int work_count = count == 6 ? 3 : count - 2;  /* 6 and 5 keep three works; 5 drops the asset milestone */
	bool asset = count == 6;
	int duration = p->end_day - p->start_day, rest = 100 - 5 - 10 - (asset ? 5 : 0), drawn[3], drawn_sum = 0;
	for (int j = 0; j < work_count; j++)
		drawn_sum += drawn[j] = (int)demogen_rng_range(rng, 2, 5);
	p->first_milestone = (uint32_t)g->milestone_count;
	struct demogen_milestone *m = &g->milestones[g->milestone_count];
	m[0] = (struct demogen_milestone){ MS_PUBLICITY, 5, p->start_day - (int32_t)demogen_rng_range(rng, 10, 20), 0 };
	int given = 0;
	for (int j = 0; j < work_count; j++) {
		/* with two works keep the first and the last of the category's three, as real plans do */
		int which = work_count == 3 ? j : work_count == 2 ? j * 2 : 1;
		int weight = j == work_count - 1 ? rest - given : rest * drawn[j] / drawn_sum;
		given += weight;
		int32_t day = p->start_day + duration * (j + 1) / (work_count + 1) + (int32_t)demogen_rng_range(rng, -5, 5);
		m[1 + j] = (struct demogen_milestone){ (uint8_t)(works[p->category] + which), (uint8_t)weight, day, 0 };
	}
	m[1 + work_count] = (struct demogen_milestone){ MS_ACCEPTANCE, 10, p->end_day, 0 };
	if (asset)
		m[2 + work_count] = (struct demogen_milestone){ MS_ASSET, 5, p->end_day + (int32_t)demogen_rng_range(rng, 20, 40), 0 };
	p->milestone_count = (uint8_t)(2 + work_count + asset);
	g->milestone_count += p->milestone_count;
}

static void add_project(struct demogen *g, struct demogen_rng *rng, size_t county, size_t seq,
			const size_t *villages, size_t village_count, const size_t *townships, size_t township_count)
{
	struct demogen_project *p = &g->projects[g->project_count++];
	memset(p, 0, sizeof *p);
	int roll = (int)demogen_rng_range(rng, 0, 99), category = 0;
	while (roll >= category_weights[category])
		roll -= category_weights[category++];
	p->category = (uint8_t)category;
	snprintf(p->id, sizeof p->id, "XM%.6s-%04zu", g->regions[county].code, seq % 10000u);
	bool at_township = demogen_rng_unit(rng) < ((category == DEMOGEN_PROCESSING || category == DEMOGEN_ECOMMERCE) ? 0.5 : 0.1);
	p->location = (int32_t)(at_township ? townships[demogen_rng_range(rng, 0, (int64_t)township_count - 1)]
					    : villages[demogen_rng_range(rng, 0, (int64_t)village_count - 1)]);
	p->county = (int32_t)county;

	size_t template_count = 0;
	while (template_count < 8 && templates[category][template_count].suffix)
		template_count++;
	const struct project_template *t = &templates[category][demogen_rng_range(rng, 0, (int64_t)template_count - 1)];
	p->department = t->department;
	char product[32], name[256];
	int64_t wan = demogen_rng_range(rng, invest_wan[category][0], invest_wan[category][1]);
	if (category == DEMOGEN_PHOTOVOLTAIC) {
		int kilowatts = (int)demogen_rng_range(rng, 2, 10) * 50;
		snprintf(product, sizeof product, "%d千瓦", kilowatts);
		wan = kilowatts * 6 / 10;  /* about 6,000 yuan per kW installed */
	} else {
		snprintf(product, sizeof product, "%s", t->product);
	}
	snprintf(name, sizeof name, "%s%s%s", demogen_str(g, g->regions[p->location].name), product, t->suffix);
	p->name = pool_add(g, name);
	p->invest_fen = (wan * 10000 + demogen_rng_range(rng, 0, 9) * 1000) * 100;

	/* a solar station's dividends reach about one household per 2 万 invested */
	int households = category == DEMOGEN_PHOTOVOLTAIC ? (int)(wan / 2 + 20) : (int)demogen_rng_range(rng, 30, 300);
	p->households = (uint16_t)households;
	p->poor_households = (uint16_t)(households * demogen_rng_range(rng, 40, 80) / 100);
	p->jobs = (uint16_t)demogen_rng_range(rng, 5, category == DEMOGEN_PROCESSING ? 80 : 40);
	int64_t anchor = g->params.anchor_day;
	p->start_day = (int32_t)(anchor + demogen_rng_range(rng, -240, 45));
	p->end_day = p->start_day + (int32_t)(category == DEMOGEN_PHOTOVOLTAIC ? demogen_rng_range(rng, 90, 200)
										 : demogen_rng_range(rng, 150, 540));
	p->perf_pct = (uint8_t)demogen_rng_range(rng, 97, 106);
	plan_milestones(g, p, rng);
}

/* Behind at `perf` %: mid-way on the anchor day, with a milestone overdue that catching up would finish. */
static bool can_lag(const struct demogen *g, size_t i, int64_t perf)
{
	const struct demogen_project *p = &g->projects[i];
	double planned = demogen_planned_pct(g, i, cst_day_start(g->params.anchor_day));
	for (unsigned k = 0; k < p->milestone_count && p->start_day <= g->params.anchor_day - 60 &&
			     p->end_day >= g->params.anchor_day + 90; k++) {
		double cum = demogen_milestone_cum_pct(g, i, k);
		if (cum > planned * (double)perf / 100 && cum <= planned * 0.99)
			return true;
	}
	return false;
}

/* Which projects are behind at the anchor, then what the registry says of each on that day. */
static void settle_projects(struct demogen *g, struct demogen_rng *rng, size_t first, size_t count)
{
	int64_t anchor = g->params.anchor_day;
	size_t wanted = count / 40 < 2 ? 2 : count / 40, found = 0;
	size_t start = (size_t)demogen_rng_range(rng, 0, (int64_t)count - 1);
	for (size_t k = 0; k < count && found < wanted; k++) {
		size_t i = first + (start + k) % count;
		int64_t perf = demogen_rng_range(rng, 78, 89);
		if (can_lag(g, i, perf)) {
			g->projects[i].perf_pct = (uint8_t)perf;
			g->lagging[g->lagging_count++] = i;
			found++;
		}
	}
	for (size_t i = first; i < first + count; i++) {
		struct demogen_project *p = &g->projects[i];
		for (unsigned k = 0; k < p->milestone_count; k++) {
			int64_t day = demogen_reach_day(g, i, demogen_milestone_cum_pct(g, i, k), p->perf_pct);
			g->milestones[p->first_milestone + k].done_day = day >= 0 && day <= anchor ? (int32_t)day : 0;
		}
		double progress = demogen_planned_pct(g, i, cst_day_start(anchor)) * p->perf_pct / 100;
		int64_t completed = demogen_reach_day(g, i, 100, p->perf_pct);
		p->stage = (uint8_t)demogen_stage_for(p, anchor, progress > 100 ? 100 : progress, completed);
	}
}

static void generate_county(struct demogen *g, size_t county, struct demogen_rng *rng)
{
	const struct demogen_params *pp = &g->params;
	int township_count = (int)demogen_rng_range(rng, pp->townships_min, pp->townships_max);
	int village_total = (int)demogen_rng_range(rng, pp->villages_min, pp->villages_max);
	int project_total = (int)demogen_rng_range(rng, pp->projects_min, pp->projects_max);
	int towns = (int)lround(township_count * (0.55 + 0.2 * demogen_rng_unit(rng)));
	towns = towns < 1 ? 1 : towns > 100 ? 100 : towns;
	int per_township[300];
	spread_villages(rng, village_total, township_count, 199, per_township);

	size_t *villages = xreallocarray(NULL, (size_t)village_total + 1, sizeof *villages);
	size_t townships[300], village_count = 0;
	size_t first_township = g->region_count;
	for (int t = 0; t < township_count; t++) {
		char code[REGCODE_SIZE];
		int part = t < towns ? 100 + t : 200 + t - towns;
		snprintf(code, sizeof code, "%.6s%03u000", g->regions[county].code, (unsigned)part % 1000u);
		size_t township = townships[t] = add_named_region(g, rng, code, REGCODE_TOWNSHIP, (int32_t)county,
								  first_township, t < towns ? "镇" : "乡", t < towns ? " Town" : " Township");
		g->township_count++;
		/* the county seat has a few neighbourhoods (社区), some other towns one */
		int neighbourhood_count = t == 0 ? (int)demogen_rng_range(rng, 2, 4)
				       : (t < towns && demogen_rng_unit(rng) < 0.4) ? 1 : 0;
		if (neighbourhood_count > per_township[t] - 1)
			neighbourhood_count = per_township[t] - 1 > 0 ? per_township[t] - 1 : 0;
		size_t first_village = g->region_count;
		int order[COUNT(neighbourhoods)];
		for (int k = 0; k < (int)COUNT(neighbourhoods); k++)
			order[k] = k;
		for (int v = 0; v < per_township[t]; v++) {
			bool neighbourhood = v < neighbourhood_count;
			snprintf(code, sizeof code, "%.9s%03u", g->regions[township].code,
				 (unsigned)(neighbourhood ? 1 + v : 201 + v - neighbourhood_count) % 1000u);
			size_t village;
			if (neighbourhood) {
				/* a partial shuffle: names without replacement inside the township */
				int k = v + (int)demogen_rng_range(rng, 0, (int64_t)COUNT(neighbourhoods) - 1 - v), swap = order[v];
				order[v] = order[k];
				order[k] = swap;
				const struct syllable *n = &neighbourhoods[order[v]];
				char zh[64], en[64];
				snprintf(zh, sizeof zh, "%s社区", n->zh);
				snprintf(en, sizeof en, "%c%s Community", n->py[0] - 'a' + 'A', n->py + 1);
				village = add_region(g, code, REGCODE_VILLAGE, (int32_t)township, zh, en);
			} else {
				village = add_named_region(g, rng, code, REGCODE_VILLAGE, (int32_t)township, first_village,
							   "村", " Village");
				villages[village_count++] = village;
			}
			village_baseline(&g->regions[village], rng, neighbourhood);
			g->village_count++;
		}
	}
	size_t first_project = g->project_count;
	for (int i = 0; i < project_total; i++)
		add_project(g, rng, county, (size_t)i + 1, villages, village_count ? village_count : 1,
			    townships, (size_t)township_count);
	settle_projects(g, rng, first_project, (size_t)project_total);
	free(villages);
}

static int check_params(const struct demogen_params *p, char *err, size_t errlen)
{
	const char *why = NULL;
	enum regcode_level want = p->counties > 0 ? REGCODE_PROVINCE : REGCODE_COUNTY;
	/* a county without a prefecture part (like Dongguan's townships) would share its province's code */
	if (regcode_check(p->code, want, &why) < 0 || (want == REGCODE_COUNTY && strncmp(p->code + 2, "00", 2) == 0)) {
		snprintf(err, errlen, "code %s: %s", p->code, why ? why : "a county needs a prefecture part");
		return -1;
	}
	if (p->counties < 0 || p->counties > 990 || p->townships_min < 1 || p->townships_max > 300 ||
	    p->townships_min > p->townships_max || p->villages_min > p->villages_max ||
	    p->villages_min < p->townships_max || p->villages_max > p->townships_min * 199 ||
	    p->projects_min < 1 || p->projects_min > p->projects_max || p->projects_max > 9999) {
		snprintf(err, errlen, "counts out of range: counties 0-990, townships 1-300, villages from the "
			 "largest township count to 199 per township, projects 1-9999 per county");
		return -1;
	}
	return 0;
}

struct demogen *demogen_generate(const struct demogen_params *params, char *err, size_t errlen)
{
	if (check_params(params, err, errlen) < 0)
		return NULL;
	struct demogen *g = xcalloc(1, sizeof *g);
	g->params = *params;
	size_t counties = params->counties > 0 ? (size_t)params->counties : 1;
	size_t prefectures = params->counties > 0 ? (counties + 9) / 10 : 1;
	size_t max_regions = 1 + prefectures + counties * (1 + (size_t)params->townships_max + (size_t)params->villages_max);
	size_t max_projects = counties * (size_t)params->projects_max;
	g->regions = xreallocarray(NULL, max_regions, sizeof *g->regions);
	g->projects = xreallocarray(NULL, max_projects, sizeof *g->projects);
	g->milestones = xreallocarray(NULL, max_projects * DEMOGEN_MAX_MILESTONES, sizeof *g->milestones);
	g->lagging = xreallocarray(NULL, max_projects, sizeof *g->lagging);

	struct demogen_rng top;
	demogen_rng_seed(&top, params->seed);
	char code[REGCODE_SIZE];
	int pp = (params->code[0] - '0') * 10 + (params->code[1] - '0');
	const char *province_zh = "示范省", *province_en = "Demo Province";
	for (size_t i = 0; i < COUNT(provinces); i++)
		if (provinces[i].code == pp) {
			province_zh = provinces[i].zh;
			province_en = provinces[i].en;
		}
	snprintf(code, sizeof code, "%.2s0000000000", params->code);
	add_region(g, code, REGCODE_PROVINCE, -1, province_zh, province_en);
	for (size_t f = 0, county_seq = 0; f < prefectures; f++) {
		if (params->counties > 0)
			snprintf(code, sizeof code, "%.2s%02zu00000000", params->code, (f + 1) % 100u);
		else
			snprintf(code, sizeof code, "%.4s00000000", params->code);
		size_t prefecture = add_named_region(g, &top, code, REGCODE_PREFECTURE, 0, 1, "市", " City");
		size_t first_county = g->region_count;
		for (size_t c = 0; c < 10 && county_seq < counties; c++, county_seq++) {
			if (params->counties > 0)
				snprintf(code, sizeof code, "%.4s%02zu000000", g->regions[prefecture].code, (21 + c) % 100u);
			else
				memcpy(code, params->code, REGCODE_SIZE);
			size_t county = add_named_region(g, &top, code, REGCODE_COUNTY, (int32_t)prefecture, first_county,
							 "县", " County");
			g->county_count++;
			struct demogen_rng rng;
			demogen_rng_seed(&rng, demogen_hash(params->seed, county_seq + 1));
			generate_county(g, county, &rng);
			if (params->counties == 0)
				break;
		}
	}
	return g;
}

void demogen_free(struct demogen *g)
{
	if (!g)
		return;
	free(g->regions);
	free(g->projects);
	free(g->milestones);
	free(g->lagging);
	free(g->pool);
	free(g);
}

void demogen_params_county(struct demogen_params *p, const char *county, uint64_t seed, int64_t anchor_day)
{
	memset(p, 0, sizeof *p);
	p->seed = seed;
	snprintf(p->code, sizeof p->code, "%s", county ? county : DEMOGEN_DEFAULT_COUNTY);
	p->townships_min = 12, p->townships_max = 20;
	p->villages_min = 200, p->villages_max = 350;
	p->projects_min = 80, p->projects_max = 150;
	p->anchor_day = anchor_day;
}

void demogen_params_province(struct demogen_params *p, const char *code, int counties, uint64_t seed,
			     int64_t anchor_day)
{
	demogen_params_county(p, NULL, seed, anchor_day);
	snprintf(p->code, sizeof p->code, "%.2s0000000000", code ? code : DEMOGEN_DEFAULT_COUNTY);
	p->counties = counties;
	p->villages_min = p->villages_max = 250;
	p->projects_min = p->projects_max = 250;
}

/* ---- the progress model ---- */

double demogen_milestone_cum_pct(const struct demogen *g, size_t project, unsigned k)
{
	const struct demogen_milestone *m = &g->milestones[g->projects[project].first_milestone];
	double sum = 0;
	for (unsigned i = 0; i <= k; i++)
		sum += m[i].weight;
	return sum;
}

double demogen_planned_pct(const struct demogen *g, size_t project, int64_t ts)
{
	/* the same curve as plan.c: cumulative weights on their planned dates, 0 at the start date */
	const struct demogen_project *p = &g->projects[project];
	const struct demogen_milestone *m = &g->milestones[p->first_milestone];
	int64_t point_ts[DEMOGEN_MAX_MILESTONES + 1];
	double point_pct[DEMOGEN_MAX_MILESTONES + 1], sum = 0;
	size_t n = 0;
	if (cst_day_start(p->start_day) < cst_day_start(m[0].planned_day)) {
		point_ts[n] = cst_day_start(p->start_day);
		point_pct[n++] = 0;
	}
	for (unsigned i = 0; i < p->milestone_count; i++) {
		sum += m[i].weight;
		point_ts[n] = cst_day_start(m[i].planned_day);
		point_pct[n++] = sum;
	}
	if (ts <= point_ts[0])
		return ts < point_ts[0] && n > 1 ? 0 : point_pct[0];
	for (size_t i = 1; i < n; i++)
		if (ts < point_ts[i]) {
			double span = (double)(point_ts[i] - point_ts[i - 1]);
			double frac = span > 0 ? (double)(ts - point_ts[i - 1]) / span : 1;
			return point_pct[i - 1] + frac * (point_pct[i] - point_pct[i - 1]);
		}
	return point_pct[n - 1];
}

int64_t demogen_reach_day(const struct demogen *g, size_t project, double pct, double perf_pct)
{
	const struct demogen_project *p = &g->projects[project];
	const struct demogen_milestone *m = &g->milestones[p->first_milestone];
	int64_t lo = m[0].planned_day < p->start_day ? m[0].planned_day : p->start_day;
	int64_t hi = m[p->milestone_count - 1].planned_day;
	if (demogen_planned_pct(g, project, cst_day_start(hi)) * perf_pct / 100 < pct - 1e-9)
		return -1;
	while (lo < hi) { /* PV never falls, so the first day reaching pct can be bisected */
		int64_t mid = lo + (hi - lo) / 2;
		if (demogen_planned_pct(g, project, cst_day_start(mid)) * perf_pct / 100 >= pct - 1e-9)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int demogen_stage_for(const struct demogen_project *p, int64_t day, double progress_pct, int64_t completed_day)
{
	if (progress_pct >= 100 && completed_day >= 0 && day >= completed_day) {
		int64_t since = day - completed_day; /* acceptance, notice, assets: a fortnight each */
		return STAGE_COMPLETED + (int)(since < 45 ? since / 15 : 3);
	}
	if (day >= p->start_day)
		return STAGE_STARTED;
	return day >= p->start_day - 20 ? STAGE_PUBLICISED : STAGE_APPROVED;
}

/* ---- writers ---- */

/* Quoted as the exporter quotes, so an export of the imported county gives back the same bytes. */
static void csv_field(FILE *out, const char *text, bool last)
{
	if (!strpbrk(text, ",\"\r\n")) {
		fprintf(out, "%s%s", text, last ? "\r\n" : ",");
		return;
	}
	fputc('"', out);
	for (const char *c = text; *c; c++) {
		if (*c == '"') /* a quote inside is doubled */
			fputc('"', out);
		fputc(*c, out);
	}
	fputs(last ? "\"\r\n" : "\",", out);
}

int demogen_write_regions_csv(const struct demogen *g, FILE *out)
{
	fputs("code,name,name_en,retired\r\n", out);
	for (size_t i = 0; i < g->region_count; i++) {
		const struct demogen_region *r = &g->regions[i];
		csv_field(out, r->code, false);
		csv_field(out, demogen_str(g, r->name), false);
		csv_field(out, demogen_str(g, r->name_en), false);
		csv_field(out, "0", true);
	}
	return ferror(out) || fflush(out) != 0 ? -1 : 0;
}

int demogen_write_projects_csv(const struct demogen *g, FILE *out)
{
	fputs("id,name,category,location,department,investment_fen,start,planned_end,households,stage\r\n", out);
	for (size_t i = 0; i < g->project_count; i++) {
		const struct demogen_project *p = &g->projects[i];
		char start[16], end[16];
		cst_date_format(p->start_day, start, sizeof start);
		cst_date_format(p->end_day, end, sizeof end);
		csv_field(out, p->id, false);
		csv_field(out, demogen_str(g, p->name), false);
		csv_field(out, category_keys[p->category], false);
		csv_field(out, g->regions[p->location].code, false);
		csv_field(out, demogen_departments[p->department], false);
		fprintf(out, "%" PRId64 ",%s,%s,%u,", p->invest_fen, start, end, (unsigned)p->households);
		csv_field(out, demogen_stage_keys[p->stage], true);
	}
	return ferror(out) || fflush(out) != 0 ? -1 : 0;
}

size_t demogen_milestone_items(const struct demogen *g, size_t first, size_t count)
{
	size_t items = 0;
	for (size_t i = first; i < first + count && i < g->project_count; i++)
		items += g->projects[i].milestone_count;
	return items;
}

int demogen_write_milestones_json(const struct demogen *g, size_t first, size_t count, const char *batch_id,
				  FILE *out)
{
	/* every text here is ours (ids, table names, dates): nothing needs JSON escaping */
	fprintf(out, "{\"batch_id\":\"%s\",\"milestones\":[", batch_id);
	const char *comma = "";
	for (size_t i = first; i < first + count && i < g->project_count; i++) {
		const struct demogen_project *p = &g->projects[i];
		for (unsigned k = 0; k < p->milestone_count; k++) {
			const struct demogen_milestone *m = &g->milestones[p->first_milestone + k];
			char planned[16], done[16];
			cst_date_format(m->planned_day, planned, sizeof planned);
			fprintf(out, "%s{\"project\":\"%s\",\"name\":\"%s\",\"planned_date\":\"%s\",\"weight\":%u",
				comma, p->id, demogen_milestone_names[m->name], planned, (unsigned)m->weight);
			/* not done: say nothing, so a re-sent plan never clears a done date */
			if (m->done_day) {
				cst_date_format(m->done_day, done, sizeof done);
				fprintf(out, ",\"done_date\":\"%s\"", done);
			}
			fputc('}', out);
			comma = ",";
		}
	}
	fputs("]}\n", out);
	return ferror(out) || fflush(out) != 0 ? -1 : 0;
}

// i18n.js: zh-CN first, English as a switch.
//
// The language comes from ?lang=en|zh (wall displays are configured by
// address), else the last choice saved in this browser, else zh-CN. Static
// text carries data-i18n="key" (textContent) or data-i18n-title /
// data-i18n-placeholder; dynamic text calls t(key, vars). Metric labels come
// from the server's catalog (zh/en fields), not from this file.

const STRINGS = {
	// ---- shared ----
	app_title: ['精准扶贫监测', 'Poverty-Alleviation Monitor'],
	app_subtitle: ['县级实时监测平台', 'County real-time monitoring'],
	lang_switch: ['English', '中文'],
	nav_home: ['首页', 'Home'],
	nav_wall: ['指挥大屏', 'Wall display'],
	nav_projects: ['项目跟踪', 'Projects'],
	nav_region: ['区域详情', 'Regions'],
	nav_alerts: ['告警台', 'Alerts'],
	loading: ['加载中…', 'Loading…'],
	no_data: ['暂无数据', 'No data'],
	unknown: ['未知', 'Unknown'],
	conn_connecting: ['连接中', 'Connecting'],
	conn_live: ['实时', 'Live'],
	conn_reconnecting: ['重连中', 'Reconnecting'],
	conn_offline: ['已断开', 'Offline'],
	conn_retry_in: ['{s} 秒后重试', 'retry in {s} s'],
	data_as_of: ['数据截至', 'Data as of'],
	stale_note: ['数据可能已过时', 'Figures may be out of date'],
	err_load: ['加载失败：{msg}', 'Could not load: {msg}'],
	err_unauthorized: ['需要有效的访问令牌（地址中 ?token=）', 'A valid access token is needed (?token= in the address)'],
	err_forbidden: ['无权查看该区域', 'Outside your region'],
	err_not_found: ['未找到', 'Not found'],
	level_province: ['省', 'Province'],
	level_prefecture: ['市', 'Prefecture'],
	level_county: ['县', 'County'],
	level_township: ['乡镇', 'Township'],
	level_village: ['村', 'Village'],
	kind_project: ['项目', 'Project'],
	unit_hh: ['户', 'hh'],
	unit_people: ['人', 'people'],
	unit_projects: ['个', ''],
	unit_days: ['天', 'd'],
	server_time: ['服务器时间', 'Server time'],
	waits_server: ['等待服务器功能', 'Waiting for a server feature'],
	all: ['全部', 'All'],

	// ---- wall ----
	wall_view_overview: ['全县总览', 'County overview'],
	wall_view_funds: ['资金监管', 'Funds'],
	wall_view_projects: ['产业项目', 'Industry projects'],
	wall_view_spotlight: ['乡镇聚焦', 'Township spotlight'],
	kpi_poor_hh: ['建档立卡贫困户', 'Poor households'],
	kpi_poor_people: ['建档立卡贫困人口', 'Poor people'],
	kpi_exited: ['已脱贫', 'Exited poverty'],
	kpi_exited_sub: ['脱贫率 {pct}', 'exit rate {pct}'],
	kpi_exited_people_sub: ['{n} 人', '{n} people'],
	kpi_incidence: ['贫困发生率', 'Poverty incidence'],
	kpi_remaining: ['未脱贫 {n} 人 · 户籍人口 {pop}', '{n} not yet exited · population {pop}'],
	kpi_monitored: ['防返贫监测户', 'Monitored households'],
	kpi_monitored_sub: ['不稳定 {a} · 边缘 {b} · 突发 {c}', 'unstable {a} · at risk {b} · sudden {c}'],
	kpi_funds: ['资金拨付进度', 'Funds paid vs allocated'],
	kpi_funds_sub: ['已拨付 {paid} / 下达 {alloc}', 'paid {paid} of {alloc}'],
	kpi_projects: ['产业项目', 'Industry projects'],
	exit_rate: ['脱贫率', 'Exit rate'],
	proj_total_n: ['共 {n} 个项目', '{n} projects'],
	kpi_proj_on_track: ['正常', 'On track'],
	kpi_proj_behind: ['滞后', 'Behind'],
	kpi_proj_stalled: ['停滞', 'Stalled'],
	kpi_card_funds: ['一卡通发放', 'Card payments'],
	kpi_card_sub: ['到账 {paid} / 发放 {issued}', 'credited {paid} of {issued}'],
	kpi_pay_failed: ['发放失败（未重发）', 'Failed payments (open)'],
	kpi_proj_funds: ['项目资金支出进度', 'Project spending progress'],
	kpi_village_funds: ['到村资金', 'Funds to villages'],
	kpi_proj_spi: ['项目进度绩效 SPI', 'Project SPI'],
	kpi_started_rate: ['开工率', 'Started'],
	kpi_completed_rate: ['完工率', 'Completed'],
	kpi_budget: ['批复投资', 'Approved investment'],
	kpi_benef: ['带动户数', 'Beneficiary households'],
	kpi_income: ['脱贫户人均纯收入', 'Per-capita net income'],
	kpi_villages: ['行政村', 'Villages'],
	chart_exits: ['脱贫进展', 'Exits over time'],
	chart_monitored: ['防返贫监测', 'Monitored households'],
	chart_funds: ['资金下达与拨付', 'Funds allocated and paid'],
	chart_projects: ['项目挣值与计划', 'Earned vs planned value'],
	chart_incidence: ['贫困发生率走势', 'Incidence over time'],
	rank_incidence: ['乡镇贫困发生率排名', 'Townships by poverty incidence'],
	rank_exit: ['乡镇脱贫率排名', 'Townships by exit rate'],
	rank_funds: ['乡镇资金拨付进度', 'Townships by spending progress'],
	rank_spi: ['乡镇项目进度 SPI', 'Townships by project SPI'],
	rank_villages: ['村级贫困发生率', 'Villages by incidence'],
	worst_projects: ['进度最滞后的项目', 'Projects furthest behind'],
	alerts_ticker: ['实时告警', 'Live alerts'],
	alerts_none: ['当前无告警', 'No open alerts'],
	alerts_pending: ['告警引擎待上线（议题 6），上线后在此滚动显示', 'The alert engine (issue 6) is not live yet; alerts will scroll here'],
	spotlight_of: ['{name} · 乡镇聚焦', '{name} · township spotlight'],
	view_n_of: ['{i}/{n}', '{i}/{n}'],
	reload_note: ['每日 03:00 自动刷新', 'Refreshes daily at 03:00'],

	// ---- project list ----
	projects_title: ['产业项目跟踪', 'Industry project tracker'],
	filter_township: ['乡镇', 'Township'],
	filter_category: ['类别', 'Category'],
	filter_department: ['主管部门', 'Department'],
	filter_stage: ['阶段', 'Stage'],
	filter_spi: ['进度状态', 'Schedule'],
	filter_search: ['搜索项目名称或编号', 'Search name or id'],
	filter_reset: ['重置', 'Reset'],
	col_id: ['编号', 'ID'],
	col_name: ['项目名称', 'Project'],
	col_township: ['乡镇', 'Township'],
	col_category: ['类别', 'Category'],
	col_department: ['主管部门', 'Department'],
	col_stage: ['阶段', 'Stage'],
	col_progress: ['实际 / 计划进度', 'Progress vs plan'],
	col_spi: ['SPI', 'SPI'],
	col_spend: ['拨付 / 下达', 'Paid / allocated'],
	col_invest: ['批复投资', 'Investment'],
	col_benef: ['带动户（贫困户）', 'Beneficiaries (poor)'],
	col_silent: ['未报告', 'Silent'],
	n_projects: ['共 {n} 个项目', '{n} projects'],
	n_shown: ['显示 {n} / {total}', 'showing {n} of {total}'],
	band_green: ['正常', 'On track'],
	band_amber: ['预警', 'Watch'],
	band_red: ['滞后', 'Behind'],
	band_none: ['未开始/无数据', 'No data'],
	sum_invest: ['批复投资合计', 'Total investment'],
	sum_alloc: ['下达资金', 'Allocated'],
	sum_paid: ['拨付资金', 'Paid'],
	sum_behind: ['进度滞后', 'Behind schedule'],
	sum_silent: ['超 35 天未报告', 'Silent > 35 days'],
	days_n: ['{n} 天', '{n} d'],

	// ---- project page ----
	project_facts: ['项目概况', 'Overview'],
	fact_location: ['实施地点', 'Location'],
	fact_period: ['建设周期', 'Period'],
	fact_planned_hh: ['计划带动户数', 'Planned beneficiaries'],
	milestones: ['里程碑：计划与实际', 'Milestones: planned vs actual'],
	ms_planned: ['计划', 'Planned'],
	ms_done: ['完成', 'Done'],
	ms_open: ['未完成', 'Open'],
	ms_overdue: ['逾期 {n} 天', '{n} d overdue'],
	ms_late: ['晚 {n} 天', '{n} d late'],
	ms_early: ['早 {n} 天', '{n} d early'],
	ms_ontime: ['按期', 'on time'],
	ms_weight: ['权重', 'weight'],
	ms_today: ['今天', 'today'],
	chart_progress: ['进度：实际与计划', 'Progress: actual vs planned'],
	chart_spending: ['资金：下达、拨付、报账', 'Funds: allocated, paid, reimbursed'],
	range_day: ['日', 'Day'],
	range_week: ['周', 'Week'],
	range_month: ['月', 'Month'],
	range_year: ['年', 'Year'],
	range_5y: ['5年', '5 years'],
	form_title: ['填报进度', 'Report progress'],
	form_token: ['填报令牌', 'Reporting token'],
	form_token_hint: ['由扶贫办发放；仅保存在本标签页', 'Issued by the office; kept in this tab only'],
	form_progress: ['报告进度', 'Progress report'],
	form_milestone: ['完成里程碑', 'Complete a milestone'],
	form_date: ['报告日期', 'Report date'],
	form_progress_pct: ['实际进度（%）', 'Physical progress (%)'],
	form_stage: ['阶段', 'Stage'],
	form_stage_keep: ['（不变）', '(unchanged)'],
	form_alloc: ['累计下达资金（元）', 'Allocated to date (元)'],
	form_paid: ['累计拨付资金（元）', 'Paid to date (元)'],
	form_reimbursed: ['累计报账资金（元）', 'Reimbursed to date (元)'],
	form_benef: ['带动户数', 'Beneficiary households'],
	form_benef_poor: ['其中贫困户', 'of which registered poor'],
	form_jobs: ['带动就业人数', 'Jobs created'],
	form_note: ['说明', 'Note'],
	form_ms_name: ['里程碑', 'Milestone'],
	form_done_date: ['完成日期', 'Done on'],
	form_submit: ['提交', 'Submit'],
	form_sending: ['提交中…', 'Sending…'],
	form_ok: ['已提交：接收 {a} 项', 'Submitted: {a} accepted'],
	form_dup: ['该报告已提交过（重复）', 'Already submitted (duplicate)'],
	form_rejected: ['服务器拒绝了提交', 'The server rejected the report'],
	form_nothing: ['请至少填写一项', 'Fill in at least one figure'],
	v_required: ['必填', 'Required'],
	v_pct_range: ['须在 0 到 100 之间', 'Must be between 0 and 100'],
	v_number: ['须为数字', 'Must be a number'],
	v_int: ['须为非负整数', 'Must be a whole number ≥ 0'],
	v_date: ['日期格式须为 YYYY-MM-DD', 'Date must be YYYY-MM-DD'],
	v_future: ['不能晚于今天（{today}）', 'Cannot be after today ({today})'],
	v_poor_gt: ['不能超过带动户数', 'Cannot exceed beneficiary households'],
	money_format: ['金额格式：元，最多两位小数', 'Amount in 元 with at most 2 decimals'],
	money_negative: ['金额不能为负', 'Amount cannot be negative'],
	money_too_large: ['金额过大', 'Amount too large'],
	v_token: ['请输入填报令牌', 'Enter the reporting token'],
	v_http_401: ['令牌无效或已吊销', 'Token invalid or revoked'],
	v_http_403: ['该令牌无权填报此类数据或此项目', 'This token may not report this kind of data or project'],
	fen_hint: ['= {fen} 分', '= {fen} fen'],

	// ---- region page ----
	region_children: ['下辖单位', 'Subdivisions'],
	region_projects: ['本地项目', 'Projects here'],
	region_metrics: ['全部指标', 'All metrics'],
	region_now: ['当前', 'Now'],
	region_pick: ['选择区域', 'Choose a region'],

	// ---- alerts ----
	alerts_title: ['告警处置台', 'Alert console'],
	alerts_api_note: ['告警引擎与告警接口（议题 6）以及用户登录（议题 5）尚未上线：列表已接入实时告警通道 alerts，处置按钮在接口可用后启用。',
		'The alert engine and alert API (issue 6) and user login (issue 5) are not live yet: the list is wired to the live "alerts" topic; the action buttons are enabled once the API exists.'],
	filter_rule: ['规则', 'Rule'],
	filter_state: ['状态', 'State'],
	filter_severity: ['级别', 'Severity'],
	sev_critical: ['严重', 'Critical'],
	sev_warning: ['警告', 'Warning'],
	sev_info: ['提示', 'Info'],
	st_firing: ['未处理', 'Firing'],
	st_acknowledged: ['已确认', 'Acknowledged'],
	st_silenced: ['已静默', 'Silenced'],
	st_resolved: ['已解除', 'Resolved'],
	col_severity: ['级别', 'Severity'],
	col_rule: ['规则', 'Rule'],
	col_entity: ['对象', 'Subject'],
	col_since: ['发生时间', 'Since'],
	col_state: ['状态', 'State'],
	col_message: ['说明', 'Details'],
	act_ack: ['确认', 'Acknowledge'],
	act_silence: ['静默至', 'Silence until'],
	act_resolve: ['解除', 'Resolve'],
	act_comment: ['处置意见（必填）', 'Comment (required)'],
	act_disabled: ['告警接口上线后可用', 'Available once the alert API is live'],
	alert_detail: ['告警详情', 'Alert detail'],
	alert_pick: ['从左侧选择一条告警查看详情', 'Pick an alert on the left to see its detail'],
	alert_history: ['处置记录', 'History'],
	n_alerts: ['{n} 条告警', '{n} alerts'],
	rule_payment_overdue: ['一卡通批次逾期', 'Payment batch overdue'],
	rule_payment_failed: ['发放失败未重发', 'Failed payments not reissued'],
	rule_alloc_delayed: ['资金下达后未拨付', 'Allocation not paid out'],
	rule_idle_funds: ['资金闲置', 'Idle funds'],
	rule_project_behind: ['项目进度滞后', 'Project behind schedule'],
	rule_project_stalled: ['项目停滞', 'Project stalled'],
	rule_project_silent: ['项目未报告', 'Project silent'],
	rule_milestone_overdue: ['里程碑逾期', 'Milestone overdue'],
	rule_monitoring_overdue: ['监测户帮扶超期', 'Monitored households not helped in time'],
	rule_village_silent: ['村级数据中断', 'Village silent'],
	rule_township_silent: ['乡镇数据中断', 'Township silent'],
	grouped_under: ['归入：{cause}', 'under: {cause}'],
	ev_fired: ['触发', 'fired'], ev_escalated: ['升级', 'escalated'], ev_acknowledged: ['确认', 'acknowledged'],
	ev_commented: ['备注', 'comment'], ev_silenced: ['静默', 'silenced'], ev_unsilenced: ['取消静默', 'unsilenced'],
	ev_resolved: ['解除', 'resolved'], ev_reopened: ['重新触发', 'reopened'], ev_severity_changed: ['级别变更', 'severity changed'],
	ev_grouped: ['归组', 'grouped'], ev_ungrouped: ['移出分组', 'ungrouped'],
	rule_duplicate_subsidy: ['重复发放补贴', 'Duplicate subsidy'],
	rule_monitoring_overdue: ['监测户帮扶超期', 'Monitoring overdue'],

	// ---- alerts: the live console (engine and API live) ----
	alerts_waiting: ['正在接收告警…', 'Receiving alerts…'],
	st_open: ['未关闭', 'Open'],
	stat_critical_firing: ['严重 · 未处理', 'Critical · firing'],
	stat_warning_firing: ['警告 · 未处理', 'Warning · firing'],
	stat_resolved_recent: ['近期已解除', 'Resolved lately'],
	n_alerts_members: ['{n} 条告警（另有 {m} 条归入乡镇原因）', '{n} alerts ({m} more under their township cause)'],
	alerts_truncated: ['仅显示最早的 {n} 条', 'Only the first {n} are shown'],
	group_n: ['{n} 个村', '{n} villages'],
	group_expand: ['展开组内告警', 'Show the alerts of this group'],
	group_collapse: ['收起组内告警', 'Hide the alerts of this group'],
	member_of: ['归入：{cause}', 'Under: {cause}'],
	alert_id: ['告警编号', 'Alert no.'],
	ek_project: ['项目', 'Project'],
	ek_village: ['村', 'Village'],
	ek_township: ['乡镇', 'Township'],
	ek_batch: ['代发批次', 'Payment batch'],
	ek_household: ['农户', 'Household'],
	d_value: ['当前值 / 阈值', 'Value / threshold'],
	d_fired: ['首次触发', 'First fired'],
	d_firing_since: ['本轮触发自', 'Firing since'],
	d_changed: ['最近变更', 'Last change'],
	d_escalated: ['已升级为严重（规则级别：{sev}）', 'Escalated to critical (rule severity: {sev})'],
	d_acked: ['确认', 'Acknowledged'],
	d_silenced: ['静默', 'Silenced'],
	d_resolved: ['解除', 'Resolved'],
	d_until: ['至 {t}', 'until {t}'],
	d_until_resolved: ['直到告警解除', 'until the alert resolves'],
	d_figures: ['规则数据', 'Figures'],
	d_members: ['组内告警（{n}）', 'Alerts in this group ({n})'],
	d_cause: ['所属原因', 'Cause'],
	d_more: ['另有 {n} 项未列出', '{n} more not listed'],
	actor_engine: ['告警引擎', 'alert engine'],
	hist_loading: ['正在读取处置记录…', 'Loading the history…'],
	hist_reason: ['原因：{r}', 'reason: {r}'],
	hist_until: ['至 {t}', 'until {t}'],
	hist_group: ['组：{g}', 'group: {g}'],
	hist_by_hand: ['人工解除', 'resolved by hand'],
	hist_cleared: ['条件已消除', 'condition cleared'],
	hist_still_holds: ['人工解除后条件仍在', 'the condition still holds after a resolve by hand'],
	hist_silence_ended: ['静默到期', 'the silence ended'],
	hist_after: ['未处理 {h} 小时', 'firing for {h} h'],
	chart_around: ['触发前后的数据（红线：触发时刻）', 'Figures around the moment it fired (red line)'],
	chart_none: ['该对象没有可绘制的历史数据', 'No charted history for this subject'],
	act_note: ['处置意见（解除、备注时必填；静默时作为原因）', 'Comment (required to resolve or comment; the reason of a silence)'],
	act_add_comment: ['备注', 'Comment'],
	act_unsilence: ['取消静默', 'Unsilence'],
	act_ack_group: ['整组确认（{n} 条）', 'Acknowledge the group ({n})'],
	act_silence_for: ['静默时长', 'Silence for'],
	act_silence_do: ['静默', 'Silence'],
	sil_1h: ['1 小时', '1 hour'],
	sil_4h: ['4 小时', '4 hours'],
	sil_1d: ['1 天', '1 day'],
	sil_3d: ['3 天', '3 days'],
	sil_7d: ['7 天', '7 days'],
	sil_resolved: ['直到告警解除', 'Until it resolves'],
	sil_custom: ['指定截止时间…', 'Until a time…'],
	act_ok_ack: ['已确认', 'Acknowledged'],
	act_ok_comment: ['已添加备注', 'Comment added'],
	act_ok_silence: ['已静默', 'Silenced'],
	act_ok_unsilence: ['已取消静默', 'Unsilenced'],
	act_ok_resolve: ['已解除（若条件仍在，下一轮评估会重新触发）', 'Resolved (if the condition still holds, the next evaluation reopens it)'],
	act_ok_ack_group: ['已确认整组 {n} 条告警', '{n} alerts of the group acknowledged'],
	act_err_404: ['未找到：{reason}', 'Not found: {reason}'],
	act_err_409: ['状态冲突：{reason}', 'Conflict: {reason}'],
	act_err_422: ['{field}：{reason}', '{field}: {reason}'],
	act_err_403: ['无权执行：{reason}', 'Not allowed: {reason}'],
	act_err_other: ['提交失败（{status}）：{reason}', 'Failed ({status}): {reason}'],
	act_err_session: ['登录已失效，请重新登录', 'Your session has ended: sign in again'],
	act_until_bad: ['请选择将来的截止时间', 'Pick a time in the future'],
	act_ro_viewer: ['当前账号为只读（查看者）：确认、静默、解除需操作员或管理员账号。', 'This account is read-only (viewer): acknowledging, silencing and resolving need an operator or admin.'],
	act_ro_display: ['显示令牌为只读，不能处置告警：请用操作员账号登录告警台。', 'A display token is read-only and cannot act on alerts: sign in with an operator account.'],
	field_comment: ['处置意见', 'Comment'],
	field_reason: ['静默原因', 'Reason'],
	field_until: ['静默截止时间', 'Silence end'],
	field_group: ['告警组', 'Group'],
	field_state: ['状态', 'State'],
	rs_required: ['必填', 'is required'],
	rs_too_long: ['不能超过 1000 字', 'is longer than 1000 characters'],
	rs_future: ['须为将来的时间，或选择“直到告警解除”', 'must be in the future, or until the alert resolves'],
	rs_acked_by: ['已由 {who} 确认', 'already acknowledged by {who}'],
	rs_is_resolved: ['告警已解除', 'the alert is resolved'],
	rs_not_silenced: ['告警不在静默中', 'the alert is not silenced'],
	rs_group_acked: ['该组告警均已确认', 'every alert of the group is already acknowledged'],
	rs_no_alert: ['您的辖区内没有这条告警', 'no such alert in your region'],
	rs_no_group: ['您的辖区内没有这个未关闭的告警组', 'no such open group in your region'],
	alert_missing: ['告警 {id}：{reason}', 'Alert {id}: {reason}'],
	notify_toggle: ['新严重告警提醒（声音＋桌面通知）', 'New critical alerts: sound and desktop notification'],
	notify_denied: ['浏览器不允许桌面通知：仅播放提示音', 'The browser blocks desktop notifications: sound only'],
	notify_click: ['点击页面任意处以启用提示音', 'Click anywhere on the page to let it play the sound'],
	notify_title: ['新严重告警：{rule}', 'New critical alert: {rule}'],
	notify_more: ['另有 {n} 条新严重告警', '{n} more new critical alerts'],
	dk_batch_no: ['批次号', 'Batch'],
	dk_department: ['部门', 'Department'],
	dk_fund_type: ['资金类型', 'Fund type'],
	dk_period: ['期间', 'Period'],
	dk_funds_at_bank: ['资金到行', 'Funds at the bank'],
	dk_hours: ['已等待（小时）', 'Hours waiting'],
	dk_total: ['笔数', 'Payments'],
	dk_total_fen: ['总金额', 'Total'],
	dk_waiting: ['未到账笔数', 'Awaiting the bank'],
	dk_waiting_fen: ['未到账金额', 'Amount awaiting'],
	dk_paid: ['已到账笔数', 'Paid'],
	dk_paid_fen: ['已到账金额', 'Amount paid'],
	dk_failed: ['失败笔数', 'Failed'],
	dk_failed_fen: ['失败金额', 'Amount failed'],
	dk_critical_fen: ['严重级金额阈值', 'Critical above'],
	dk_village: ['村', 'Village'],
	dk_count: ['数量', 'Count'],
	dk_amount_fen: ['金额', 'Amount'],
	dk_oldest_failed_at: ['最早失败', 'Oldest failure'],
	dk_days: ['天数', 'Days'],
	dk_limit_days: ['期限（天）', 'Limit (days)'],
	dk_reasons: ['失败原因', 'Reasons'],
	dk_payments: ['明细', 'Payments'],
	dk_more: ['其余', 'More'],
	dk_allocated_fen: ['累计下达', 'Allocated'],
	dk_unpaid_fen: ['未拨付', 'Unpaid'],
	dk_overdue_fen: ['超期未拨付', 'Overdue'],
	dk_oldest_unpaid_at: ['最早未拨付下达', 'Oldest unpaid allocation'],
	dk_idle_fen: ['闲置资金', 'Idle'],
	dk_seriously_idle_fen: ['闲置两年以上', 'Idle two years or more'],
	dk_household: ['户编号', 'Household'],
	dk_departments: ['发放部门', 'Departments'],
	dk_progress_pct: ['实际进度', 'Progress'],
	dk_planned_pct: ['计划进度', 'Planned'],
	dk_spi: ['SPI', 'SPI'],
	dk_unchanged_since: ['进度未变自', 'Unchanged since'],
	dk_planned_then: ['当时计划进度', 'Planned then'],
	dk_planned_now: ['当前计划进度', 'Planned now'],
	dk_last_report: ['最近报告', 'Last report'],
	dk_counted_from: ['天数起算', 'Days counted from'],
	from_last_report: ['最近一次报告', 'the last report'],
	from_start_date: ['开工日', 'the start date'],
	from_registration: ['登记入系统', 'registration in the system'],
	dk_milestones: ['逾期节点', 'Late milestones'],
	dk_max_days: ['最长逾期（天）', 'Most days late'],
	dk_last_data: ['最近数据', 'Last data'],
	dk_villages: ['村数', 'Villages'],
	dk_silent: ['无数据村数', 'Silent villages'],
	dk_share_pct: ['占比（%）', 'Share (%)'],
	dk_name: ['名称', 'Name'],
	dk_planned_date: ['计划日期', 'Planned'],
	dk_days_overdue: ['逾期天数', 'Days late'],
	dk_payment_no: ['支付编号', 'Payment'],
	dk_reason: ['原因', 'Reason'],
	dk_failed_at: ['失败时间', 'Failed at'],
	dk_status: ['状态', 'Status'],
	never: ['从未', 'never'],

	// ---- login ----
	login_sub: ['扶贫办、项目专班账号登录', 'Sign in with your office account'],
	login_name: ['用户名', 'User name'],
	login_password: ['密码', 'Password'],
	login_submit: ['登录', 'Sign in'],
	login_missing: ['请输入用户名和密码', 'Enter your name and password'],
	login_wrong: ['用户名或密码错误，或账号已停用', 'Wrong name or password, or the account is disabled'],
	login_wait: ['尝试次数过多，请 {s} 秒后再试', 'Too many attempts: wait {s} s'],
	login_wall_hint: ['大屏请使用显示令牌地址', 'Wall screens use a display-token address'],
	logout: ['退出', 'Sign out'],
	err_revoked: ['显示令牌无效或已吊销：请管理员发放新的大屏地址', 'The display token is invalid or revoked: ask the administrator for a new screen address'],

	// ---- home ----
	home_intro: ['选择要打开的页面：', 'Open a page:'],
	home_wall_desc: ['县领导指挥大屏：全县关键指标、趋势、乡镇排名、告警滚动', 'Wall display for county leaders: key figures, trends, township ranking, alert ticker'],
	home_projects_desc: ['产业项目进度、资金与带动效果；填报进度与里程碑', 'Project progress, funds and beneficiaries; report progress and milestones'],
	home_region_desc: ['乡镇、村的全部指标历史与下辖单位', 'Every metric of a township or village over time, with its subdivisions'],
	home_alerts_desc: ['扶贫办告警处置：确认、静默、解除', 'Poverty office alert handling: acknowledge, silence, resolve'],
};

// Project lifecycle stages and common categories (keys used by the API).
const STAGES = {
	approved: ['批复', 'Approved'], publicised: ['公示', 'Publicised'], started: ['开工', 'Started'],
	completed: ['完工', 'Completed'], accepted: ['验收', 'Accepted'],
	completion_notice: ['竣工公示', 'Completion notice'], asset_registered: ['资产登记', 'Asset registered'],
};
export const STAGE_KEYS = Object.keys(STAGES);
const CATEGORIES = {
	planting: ['种植业', 'Planting'], breeding: ['养殖业', 'Livestock'], processing: ['农产品加工', 'Processing'],
	ecommerce: ['电商', 'E-commerce'], tourism: ['乡村旅游', 'Rural tourism'], pv: ['光伏', 'Solar PV'],
	photovoltaic: ['光伏', 'Solar PV'], solar: ['光伏', 'Solar PV'], infrastructure: ['基础设施', 'Infrastructure'], forestry: ['林业', 'Forestry'],
	workshop: ['扶贫车间', 'Workshop'], labour: ['劳务', 'Labour'], training: ['技能培训', 'Training'],
	work_relief: ['以工代赈', 'Work-for-relief'], water: ['饮水', 'Water'], housing: ['住房', 'Housing'],
	logistics: ['物流', 'Logistics'], other: ['其他', 'Other'],
};

let current = null;
const listeners = new Set();

/** 'zh' or 'en'. */
export function lang() {
	if (!current) {
		const q = new URLSearchParams(location.search).get('lang');
		let saved = null;
		try {
			saved = localStorage.getItem('fpmon.lang');
		} catch { /* storage may be off */ }
		const pick = q || saved || 'zh';
		current = /^en/i.test(pick) ? 'en' : 'zh';
	}
	return current;
}

export function setLang(l) {
	current = l === 'en' ? 'en' : 'zh';
	try {
		localStorage.setItem('fpmon.lang', current);
	} catch { /* ignore */ }
	// keep the address in step, so a reload or a copied link keeps the language
	const url = new URL(location.href);
	url.searchParams.set('lang', current);
	history.replaceState(null, '', url);
	document.documentElement.lang = current === 'en' ? 'en' : 'zh-CN';
	applyI18n(document);
	for (const fn of listeners) fn(current);
}

/** Call fn(lang) after every switch (pages re-render their dynamic text). */
export function onLangChange(fn) {
	listeners.add(fn);
}

/** The string for key with {name} placeholders filled in. */
export function t(key, vars) {
	const pair = STRINGS[key];
	let s = pair ? pair[lang() === 'en' ? 1 : 0] : key;
	if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

export function stageLabel(key) {
	const p = STAGES[key];
	return p ? p[lang() === 'en' ? 1 : 0] : key || '—';
}

export function categoryLabel(key) {
	const p = CATEGORIES[key];
	return p ? p[lang() === 'en' ? 1 : 0] : key || '—';
}

/** Label of a catalog metric entry ({zh, en}). */
export function metricLabel(m) {
	if (!m) return '';
	return lang() === 'en' ? m.en || m.key : m.zh || m.key;
}

/** Fill every [data-i18n], [data-i18n-title], [data-i18n-placeholder] under root. */
export function applyI18n(root) {
	for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
	for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
	for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}

/** Wire a button that toggles the language (its text names the other one). */
export function bindLangSwitch(button) {
	const label = () => {
		button.textContent = t('lang_switch');
		button.lang = lang() === 'en' ? 'zh-CN' : 'en';
	};
	label();
	button.addEventListener('click', () => {
		setLang(lang() === 'en' ? 'zh' : 'en');
		label();
	});
}

document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';

//! The console's words, in Chinese (the default) and English. One struct per language: a
//! missing text fails compilation instead of showing a key to a user.

use axum::http::HeaderMap;

pub const LANG_COOKIE: &str = "qiao_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let cookie = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == LANG_COOKIE)
            .map(|(_, value)| value.to_string());
        match cookie.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

pub struct Texts {
    pub html_lang: &'static str,
    pub app_name: &'static str,
    pub other_lang_code: &'static str,
    pub other_lang_name: &'static str,
    pub logout: &'static str,
    pub nav_home: &'static str,
    pub nav_settings: &'static str,
    pub nav_users: &'static str,
    pub nav_api_keys: &'static str,
    pub nav_audit: &'static str,
    pub save: &'static str,
    pub create: &'static str,
    pub saved: &'static str,
    pub read_only: &'static str,
    pub forbidden: &'static str,
    pub form_expired: &'static str,
    pub not_set: &'static str,

    pub login_title: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub login_button: &'static str,
    pub login_failed: &'static str,
    pub login_throttled: &'static str,

    pub home_title: &'static str,
    pub home_intro: &'static str,
    pub version: &'static str,
    pub database: &'static str,
    pub signed_in_as: &'static str,

    pub settings_title: &'static str,
    pub settings_intro: &'static str,
    pub external_url: &'static str,
    pub external_url_help: &'static str,
    pub egress_ip: &'static str,
    pub egress_ip_help: &'static str,
    pub in_effect: &'static str,
    pub from_config: &'static str,

    pub users_title: &'static str,
    pub display_name: &'static str,
    pub role: &'static str,
    pub status: &'static str,
    pub last_login: &'static str,
    pub active: &'static str,
    pub disabled: &'static str,
    pub role_super_admin: &'static str,
    pub role_admin: &'static str,
    pub role_auditor: &'static str,
    pub new_user: &'static str,
    pub update: &'static str,
    pub new_password: &'static str,
    pub reset_password: &'static str,
    pub password_reset_done: &'static str,

    pub keys_title: &'static str,
    pub keys_intro: &'static str,
    pub key_name: &'static str,
    pub key_prefix: &'static str,
    pub scopes: &'static str,
    pub scope_admin: &'static str,
    pub scope_read: &'static str,
    pub created: &'static str,
    pub last_used: &'static str,
    pub expires: &'static str,
    pub expires_in_days: &'static str,
    pub never: &'static str,
    pub revoked: &'static str,
    pub revoke: &'static str,
    pub new_key: &'static str,
    pub key_shown_once: &'static str,

    pub nav_official_accounts: &'static str,
    pub nav_wecom: &'static str,
    pub nav_mini_programs: &'static str,
    pub ch_name: &'static str,
    pub ch_secret_keep: &'static str,
    pub ch_original_id: &'static str,
    pub ch_account_type: &'static str,
    pub ch_service: &'static str,
    pub ch_subscription: &'static str,
    pub ch_verified: &'static str,
    pub ch_corp_id_help: &'static str,
    pub ch_contacts_secret: &'static str,
    pub ch_contacts_permission: &'static str,
    pub ch_read_only: &'static str,
    pub ch_read_write: &'static str,
    pub ch_customer_secret: &'static str,
    pub ch_checkin_secret: &'static str,
    pub ch_homepage: &'static str,
    pub ch_remark: &'static str,
    pub ch_endpoints: &'static str,
    pub ch_endpoints_help: &'static str,
    pub ch_api_base: &'static str,
    pub ch_oauth_base: &'static str,
    pub ch_login_base: &'static str,
    pub ch_identity: &'static str,
    pub ch_secrets: &'static str,
    pub ch_notes: &'static str,
    pub ch_new: &'static str,
    pub ch_apps: &'static str,
    pub ch_new_app: &'static str,
    pub ch_delete: &'static str,
    pub ch_delete_confirm: &'static str,
    pub audit_title: &'static str,
    pub time: &'static str,
    pub actor: &'static str,
    pub action: &'static str,
    pub target: &'static str,
    pub ip: &'static str,
    pub change: &'static str,
    pub older: &'static str,
    pub empty: &'static str,
}

pub static ZH: Texts = Texts {
    html_lang: "zh-CN",
    app_name: "桥 · Qiao",
    other_lang_code: "en",
    other_lang_name: "English",
    logout: "退出登录",
    nav_home: "概览",
    nav_settings: "基础参数设置",
    nav_users: "管理员",
    nav_api_keys: "API 密钥",
    nav_audit: "操作日志",
    save: "保存",
    create: "创建",
    saved: "已保存。",
    read_only: "您的角色为只读，不能修改此页面。",
    forbidden: "没有权限执行此操作。",
    form_expired: "表单已过期，请刷新页面后重试。",
    not_set: "未设置",

    login_title: "登录管理控制台",
    username: "用户名",
    password: "密码",
    login_button: "登录",
    login_failed: "用户名或密码错误，或账号已被锁定。",
    login_throttled: "登录失败次数过多，请稍后再试。",

    home_title: "概览",
    home_intro: "桥（Qiao）连接业务系统与微信公众号、企业微信和小程序。",
    version: "版本",
    database: "数据库",
    signed_in_as: "当前用户",

    settings_title: "基础参数设置",
    settings_intro: "微信、企业微信和浏览器通过对外域名访问桥；出口 IP 需加入公众号和企业微信的 IP 白名单。",
    external_url: "云桥对外域名",
    external_url_help: "例如 https://qiao.example.com，须以 http:// 或 https:// 开头。留空则使用配置文件中的值。",
    egress_ip: "公网出口 IP",
    egress_ip_help: "桥调用微信接口时微信看到的公网 IP，用于配置 IP 白名单。留空则使用配置文件中的值。",
    in_effect: "当前生效",
    from_config: "来自配置",

    users_title: "管理员",
    display_name: "显示名称",
    role: "角色",
    status: "状态",
    last_login: "最近登录",
    active: "启用",
    disabled: "停用",
    role_super_admin: "超级管理员",
    role_admin: "管理员",
    role_auditor: "审计员（只读）",
    new_user: "新增管理员",
    update: "更新",
    new_password: "新密码（至少 10 个字符）",
    reset_password: "重置密码",
    password_reset_done: "密码已重置，该用户的会话已全部退出。",

    keys_title: "API 密钥",
    keys_intro: "业务系统使用 API 密钥调用桥的接口（Authorization: Bearer qiao_…）。密钥只在创建时显示一次。",
    key_name: "名称",
    key_prefix: "密钥前缀",
    scopes: "权限范围",
    scope_admin: "管理（全部接口）",
    scope_read: "只读",
    created: "创建时间",
    last_used: "最近使用",
    expires: "过期时间",
    expires_in_days: "有效天数（留空表示永不过期）",
    never: "永不",
    revoked: "已吊销",
    revoke: "吊销",
    new_key: "创建 API 密钥",
    key_shown_once: "请立即复制并妥善保存此密钥，离开本页后将无法再次查看：",

    nav_official_accounts: "微信公众号",
    nav_wecom: "企业微信",
    nav_mini_programs: "小程序",
    ch_name: "名称",
    ch_secret_keep: "留空表示不修改。",
    ch_original_id: "原始ID",
    ch_account_type: "公众号类型",
    ch_service: "服务号",
    ch_subscription: "订阅号",
    ch_verified: "已认证",
    ch_corp_id_help: "在企业微信管理后台【我的企业】中查看企业ID。",
    ch_contacts_secret: "通讯录同步 Secret",
    ch_contacts_permission: "通讯录权限",
    ch_read_only: "只读",
    ch_read_write: "可编辑",
    ch_customer_secret: "客户联系 Secret",
    ch_checkin_secret: "打卡 Secret",
    ch_homepage: "应用主页",
    ch_remark: "备注",
    ch_endpoints: "服务地址（私有化部署、政务微信）",
    ch_endpoints_help: "默认使用腾讯的服务地址；私有化部署的企业微信或政务微信请填写实际的 API 服务地址。",
    ch_api_base: "API 服务地址",
    ch_oauth_base: "网页授权地址",
    ch_login_base: "扫码登录地址",
    ch_identity: "标识（AppID / CorpID / AgentID）",
    ch_secrets: "密钥（已隐藏）",
    ch_notes: "说明",
    ch_new: "新建",
    ch_apps: "应用",
    ch_new_app: "添加应用",
    ch_delete: "删除",
    ch_delete_confirm: "确定删除？",
    audit_title: "操作日志",
    time: "时间",
    actor: "操作人",
    action: "操作",
    target: "对象",
    ip: "来源 IP",
    change: "变更内容",
    older: "更早的记录",
    empty: "暂无记录。",
};

pub static EN: Texts = Texts {
    html_lang: "en",
    app_name: "Qiao · 桥",
    other_lang_code: "zh",
    other_lang_name: "中文",
    logout: "Log out",
    nav_home: "Overview",
    nav_settings: "Basic settings",
    nav_users: "Admin users",
    nav_api_keys: "API keys",
    nav_audit: "Audit log",
    save: "Save",
    create: "Create",
    saved: "Saved.",
    read_only: "Your role is read-only: this page cannot be changed by you.",
    forbidden: "You are not allowed to do this.",
    form_expired: "The form has expired: reload the page and try again.",
    not_set: "not set",

    login_title: "Sign in to the console",
    username: "User name",
    password: "Password",
    login_button: "Sign in",
    login_failed: "Wrong user name or password, or the account is locked.",
    login_throttled: "Too many failed sign-ins: try again later.",

    home_title: "Overview",
    home_intro: "Qiao connects business systems with WeChat Official Accounts, WeCom and Mini Programs.",
    version: "Version",
    database: "Database",
    signed_in_as: "Signed in as",

    settings_title: "Basic settings",
    settings_intro: "WeChat, WeCom and browsers reach Qiao at the external URL; the egress IP goes into the IP whitelists of the Official Account and WeCom.",
    external_url: "External base URL",
    external_url_help: "For example https://qiao.example.com; it must start with http:// or https://. Empty uses the configuration's value.",
    egress_ip: "Public egress IP",
    egress_ip_help: "The public IP WeChat sees Qiao's calls come from, for the IP whitelists. Empty uses the configuration's value.",
    in_effect: "In effect",
    from_config: "from configuration",

    users_title: "Admin users",
    display_name: "Display name",
    role: "Role",
    status: "Status",
    last_login: "Last sign-in",
    active: "active",
    disabled: "disabled",
    role_super_admin: "Super admin",
    role_admin: "Admin",
    role_auditor: "Auditor (read-only)",
    new_user: "New admin user",
    update: "Update",
    new_password: "New password (10 characters or more)",
    reset_password: "Reset password",
    password_reset_done: "The password was reset and the user's sessions were ended.",

    keys_title: "API keys",
    keys_intro: "Business systems call Qiao's API with an API key (Authorization: Bearer qiao_…). A key is shown once, when it is created.",
    key_name: "Name",
    key_prefix: "Key prefix",
    scopes: "Scopes",
    scope_admin: "admin (every endpoint)",
    scope_read: "read-only",
    created: "Created",
    last_used: "Last used",
    expires: "Expires",
    expires_in_days: "Valid for days (empty: never expires)",
    never: "never",
    revoked: "revoked",
    revoke: "Revoke",
    new_key: "Create an API key",
    key_shown_once: "Copy this key now and keep it safe; it cannot be shown again after you leave this page:",

    nav_official_accounts: "Official Accounts",
    nav_wecom: "WeCom",
    nav_mini_programs: "Mini Programs",
    ch_name: "Name",
    ch_secret_keep: "Leave empty to keep the current value.",
    ch_original_id: "Original ID",
    ch_account_type: "Account type",
    ch_service: "Service account",
    ch_subscription: "Subscription account",
    ch_verified: "Verified",
    ch_corp_id_help: "Shown in the WeCom admin console under My Company → Company ID.",
    ch_contacts_secret: "Contact-sync Secret",
    ch_contacts_permission: "Contact permission",
    ch_read_only: "read-only",
    ch_read_write: "read-write",
    ch_customer_secret: "Customer-contact Secret",
    ch_checkin_secret: "Check-in Secret",
    ch_homepage: "App homepage",
    ch_remark: "Remark",
    ch_endpoints: "Endpoints (private deployments, 政务微信)",
    ch_endpoints_help: "Tencent's by default; for a private WeCom deployment or 政务微信, enter its API address.",
    ch_api_base: "API base URL",
    ch_oauth_base: "OAuth page host",
    ch_login_base: "Web login page host",
    ch_identity: "Identifier (AppID / CorpID / AgentID)",
    ch_secrets: "Secrets (masked)",
    ch_notes: "Notes",
    ch_new: "New",
    ch_apps: "Apps",
    ch_new_app: "Add an app",
    ch_delete: "Delete",
    ch_delete_confirm: "Delete it?",
    audit_title: "Audit log",
    time: "Time",
    actor: "Actor",
    action: "Action",
    target: "Target",
    ip: "From IP",
    change: "Change",
    older: "Older entries",
    empty: "Nothing yet.",
};

/// Formats unix milliseconds as `YYYY-MM-DD HH:MM:SS` in China Standard Time (UTC+8), the
/// time zone of the platforms Qiao bridges.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000) + 8 * 3600;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_beijing_time() {
        assert_eq!(format_time(0), "1970-01-01 08:00:00");
        // 2026-11-25 09:15:21 UTC
        assert_eq!(format_time(1_795_598_121_000), "2026-11-25 17:15:21");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 08:00:00");
    }
}

//! WeCom corp client (`qyapi.weixin.qq.com`, a private deployment or 政务微信: any base URL,
//! reference §4.16): token (§4.1), IP lists (§4.3), app (§4.4–4.5), departments (§4.6),
//! members (§4.7), identity (§4.9), JS-SDK tickets (§4.10), messages (§4.11), check-in
//! (§4.13) and external contacts (§4.14).
//!
//! The same client serves self-built apps, third-party apps acting for a corp (token from
//! `service/get_corp_token`) and 代开发 apps (token from `gettoken` with the permanent code
//! as secret, reference §5.8).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

pub use super::work_message::*;

use super::error::ApiError;
use super::http::HttpClient;
use super::types::{AccessToken, Ack, IpList, Menu, Secret, Ticket, de};

/// WeCom corp API client. Methods take the access token explicitly.
#[derive(Debug, Clone)]
pub struct WorkClient {
    http: HttpClient,
    base: Url,
}

/// A department (`department/list`, `department/get`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Department {
    /// Id (root = 1).
    #[serde(deserialize_with = "de::i64")]
    pub id: i64,
    /// Name.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// English name.
    #[serde(deserialize_with = "de::string")]
    pub name_en: String,
    /// Leaders' user ids.
    #[serde(deserialize_with = "de::vec")]
    pub department_leader: Vec<String>,
    /// Parent id (0 for the root).
    #[serde(deserialize_with = "de::i64")]
    pub parentid: i64,
    /// Order (larger first).
    #[serde(deserialize_with = "de::i64")]
    pub order: i64,
}

/// `department/simplelist` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DepartmentRef {
    /// Id.
    #[serde(deserialize_with = "de::i64")]
    pub id: i64,
    /// Parent id.
    #[serde(deserialize_with = "de::i64")]
    pub parentid: i64,
    /// Order.
    #[serde(deserialize_with = "de::i64")]
    pub order: i64,
}

/// `department/create` and `department/update` body: absent fields are untouched on
/// update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DepartmentWrite {
    /// Id (required for update; optional for create, > 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Name (1–64 chars, no `\:*?"<>|`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// English name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Parent id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parentid: Option<i64>,
    /// Order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
}

/// A member (`user/get`, `user/list`); sensitive fields are empty for apps created after
/// 2022-06-20 (reference §4.7.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct User {
    /// User id.
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
    /// Name.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Departments.
    #[serde(deserialize_with = "de::vec")]
    pub department: Vec<i64>,
    /// Order per department.
    #[serde(deserialize_with = "de::vec")]
    pub order: Vec<i64>,
    /// Position.
    #[serde(deserialize_with = "de::string")]
    pub position: String,
    /// Mobile.
    #[serde(deserialize_with = "de::string")]
    pub mobile: String,
    /// `1` male, `2` female, `0` unknown.
    #[serde(deserialize_with = "de::string")]
    pub gender: String,
    /// E-mail.
    #[serde(deserialize_with = "de::string")]
    pub email: String,
    /// Corporate mailbox.
    #[serde(deserialize_with = "de::string")]
    pub biz_mail: String,
    /// Leader flag per department.
    #[serde(deserialize_with = "de::vec")]
    pub is_leader_in_dept: Vec<i64>,
    /// Direct leaders.
    #[serde(deserialize_with = "de::vec")]
    pub direct_leader: Vec<String>,
    /// Avatar URL.
    #[serde(deserialize_with = "de::string")]
    pub avatar: String,
    /// Landline.
    #[serde(deserialize_with = "de::string")]
    pub telephone: String,
    /// Alias.
    #[serde(deserialize_with = "de::string")]
    pub alias: String,
    /// Address.
    #[serde(deserialize_with = "de::string")]
    pub address: String,
    /// Third-party id.
    #[serde(deserialize_with = "de::string")]
    pub open_userid: String,
    /// Main department.
    #[serde(deserialize_with = "de::i64")]
    pub main_department: i64,
    /// 1 active, 2 disabled, 4 not activated, 5 left.
    #[serde(deserialize_with = "de::i64")]
    pub status: i64,
    /// 1 enabled, 0 disabled (some versions only).
    pub enable: Option<i64>,
    /// Extended attributes.
    pub extattr: Option<Value>,
    /// External position.
    #[serde(deserialize_with = "de::string")]
    pub external_position: String,
    /// External profile.
    pub external_profile: Option<Value>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `user/simplelist` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SimpleUser {
    /// User id.
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
    /// Name.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Departments.
    #[serde(deserialize_with = "de::vec")]
    pub department: Vec<i64>,
    /// Third-party id.
    #[serde(deserialize_with = "de::string")]
    pub open_userid: String,
}

/// `user/create` and `user/update` body (reference §4.7.1): absent fields are untouched on
/// update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserWrite {
    /// User id (required).
    pub userid: String,
    /// New user id (update, once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_userid: Option<String>,
    /// Name (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Mobile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Departments (required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<Vec<i64>>,
    /// Order per department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<i64>>,
    /// Position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// `"1"` male, `"2"` female.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// E-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Corporate mailbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_mail: Option<String>,
    /// Leader flag per department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_leader_in_dept: Option<Vec<i64>>,
    /// Direct leaders (≤ 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_leader: Option<Vec<String>>,
    /// 1 enabled, 0 disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<i64>,
    /// Landline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    /// Address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Main department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_department: Option<i64>,
    /// Extended attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extattr: Option<Value>,
    /// Invite by WeChat/SMS/e-mail (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_invite: Option<bool>,
    /// External position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_position: Option<String>,
    /// External profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_profile: Option<Value>,
}

/// One page of `user/list_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ListIdPage {
    /// Cursor of the next page; empty when done.
    #[serde(deserialize_with = "de::string")]
    pub next_cursor: String,
    /// One row per (member, department).
    #[serde(deserialize_with = "de::vec")]
    pub dept_user: Vec<DeptUser>,
}

/// `{"userid", "department"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DeptUser {
    /// User id (open_userid for third parties).
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
    /// Department.
    #[serde(deserialize_with = "de::i64")]
    pub department: i64,
}

/// `agent/get` (reference §4.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Agent {
    /// Agent id.
    #[serde(deserialize_with = "de::i64")]
    pub agentid: i64,
    /// Name.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Logo.
    #[serde(deserialize_with = "de::string")]
    pub square_logo_url: String,
    /// Description.
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    /// Visible users.
    pub allow_userinfos: AllowUsers,
    /// Visible departments.
    pub allow_partys: AllowParties,
    /// Visible tags.
    pub allow_tags: AllowTags,
    /// 1 = disabled.
    #[serde(deserialize_with = "de::i64")]
    pub close: i64,
    /// OAuth trusted domain.
    #[serde(deserialize_with = "de::string")]
    pub redirect_domain: String,
    /// Location reporting.
    #[serde(deserialize_with = "de::i64")]
    pub report_location_flag: i64,
    /// Push enter_agent events.
    #[serde(deserialize_with = "de::i64")]
    pub isreportenter: i64,
    /// Home page.
    #[serde(deserialize_with = "de::string")]
    pub home_url: String,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"user": [{"userid"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AllowUsers {
    /// Users.
    #[serde(deserialize_with = "de::vec")]
    pub user: Vec<UserRef>,
}

/// `{"userid"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserRef {
    /// User id.
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
}

/// `{"partyid": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AllowParties {
    /// Department ids.
    #[serde(deserialize_with = "de::vec")]
    pub partyid: Vec<i64>,
}

/// `{"tagid": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AllowTags {
    /// Tag ids.
    #[serde(deserialize_with = "de::vec")]
    pub tagid: Vec<i64>,
}

/// `auth/getuserinfo` (reference §4.9.2): a member (`userid`) or a non-member (`openid`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AuthUserInfo {
    /// Member id.
    #[serde(deserialize_with = "de::opt_string")]
    pub userid: Option<String>,
    /// For `auth/getuserdetail` (snsapi_privateinfo, 1800 s).
    pub user_ticket: Option<Secret>,
    /// Non-member OpenID.
    #[serde(deserialize_with = "de::opt_string")]
    pub openid: Option<String>,
    /// Non-member customer id.
    #[serde(deserialize_with = "de::opt_string")]
    pub external_userid: Option<String>,
}

/// `auth/getuserdetail` (reference §4.9.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserDetail {
    /// User id.
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
    /// Gender.
    #[serde(deserialize_with = "de::string")]
    pub gender: String,
    /// Avatar.
    #[serde(deserialize_with = "de::string")]
    pub avatar: String,
    /// QR code.
    #[serde(deserialize_with = "de::string")]
    pub qr_code: String,
    /// Mobile.
    #[serde(deserialize_with = "de::string")]
    pub mobile: String,
    /// E-mail.
    #[serde(deserialize_with = "de::string")]
    pub email: String,
    /// Corporate mailbox.
    #[serde(deserialize_with = "de::string")]
    pub biz_mail: String,
    /// Address.
    #[serde(deserialize_with = "de::string")]
    pub address: String,
}

/// `checkin/getcheckindata` request (reference §4.13.1): span ≤ 30 days, 1–100 users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckinQuery {
    /// 1 on/off duty, 2 outing, 3 all.
    pub opencheckindatatype: i64,
    /// Unix seconds.
    pub starttime: i64,
    /// Unix seconds.
    pub endtime: i64,
    /// User ids.
    pub useridlist: Vec<String>,
}

/// One check-in record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CheckinRecord {
    /// User id.
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
    /// Rule group.
    #[serde(deserialize_with = "de::string")]
    pub groupname: String,
    /// 上班打卡 / 下班打卡 / 外出打卡.
    #[serde(deserialize_with = "de::string")]
    pub checkin_type: String,
    /// "" when normal.
    #[serde(deserialize_with = "de::string")]
    pub exception_type: String,
    /// Unix seconds.
    #[serde(deserialize_with = "de::i64")]
    pub checkin_time: i64,
    /// Place.
    #[serde(deserialize_with = "de::string")]
    pub location_title: String,
    /// Address.
    #[serde(deserialize_with = "de::string")]
    pub location_detail: String,
    /// Wi-Fi name.
    #[serde(deserialize_with = "de::string")]
    pub wifiname: String,
    /// Notes.
    #[serde(deserialize_with = "de::string")]
    pub notes: String,
    /// Scheduled time.
    #[serde(deserialize_with = "de::i64")]
    pub sch_checkin_time: i64,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckinData {
    #[serde(deserialize_with = "de::vec")]
    checkindata: Vec<CheckinRecord>,
}

/// A customer (reference §4.14).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExternalContact {
    /// Customer id.
    #[serde(deserialize_with = "de::string")]
    pub external_userid: String,
    /// Name.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Position.
    #[serde(deserialize_with = "de::string")]
    pub position: String,
    /// Avatar.
    #[serde(deserialize_with = "de::string")]
    pub avatar: String,
    /// Company short name.
    #[serde(deserialize_with = "de::string")]
    pub corp_name: String,
    /// Company full name.
    #[serde(deserialize_with = "de::string")]
    pub corp_full_name: String,
    /// 1 WeChat user, 2 WeCom user.
    #[serde(rename = "type", deserialize_with = "de::i64")]
    pub kind: i64,
    /// 0 unknown, 1 male, 2 female.
    #[serde(deserialize_with = "de::i64")]
    pub gender: i64,
    /// UnionID (WeChat users, with permission).
    #[serde(deserialize_with = "de::opt_string")]
    pub unionid: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member following a customer (`follow_user[]` / `follow_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FollowUser {
    /// Member id.
    #[serde(deserialize_with = "de::string")]
    pub userid: String,
    /// Remark.
    #[serde(deserialize_with = "de::string")]
    pub remark: String,
    /// Description.
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    /// When added (Unix seconds).
    #[serde(deserialize_with = "de::i64")]
    pub createtime: i64,
    /// Tags with names (`get`).
    #[serde(deserialize_with = "de::vec")]
    pub tags: Vec<Value>,
    /// Tag ids (`batch/get_by_user`).
    #[serde(deserialize_with = "de::vec")]
    pub tag_id: Vec<String>,
    /// Phone numbers noted.
    #[serde(deserialize_with = "de::vec")]
    pub remark_mobiles: Vec<String>,
    /// How the customer was added.
    #[serde(deserialize_with = "de::i64")]
    pub add_way: i64,
    /// `state` of the contact-me link.
    #[serde(deserialize_with = "de::string")]
    pub state: String,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `externalcontact/get`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExternalContactDetail {
    /// The customer.
    pub external_contact: ExternalContact,
    /// Members following them.
    #[serde(deserialize_with = "de::vec")]
    pub follow_user: Vec<FollowUser>,
    /// Cursor when more than 500 members follow; empty when done.
    #[serde(deserialize_with = "de::string")]
    pub next_cursor: String,
}

/// `externalcontact/batch/get_by_user` page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExternalContactPage {
    /// Entries.
    #[serde(deserialize_with = "de::vec")]
    pub external_contact_list: Vec<ExternalContactEntry>,
    /// Cursor; empty when done.
    #[serde(deserialize_with = "de::string")]
    pub next_cursor: String,
}

/// One entry of [`ExternalContactPage`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExternalContactEntry {
    /// The customer.
    pub external_contact: ExternalContact,
    /// The following member.
    pub follow_info: FollowUser,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ExternalIds {
    #[serde(deserialize_with = "de::vec")]
    external_userid: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Created {
    #[serde(deserialize_with = "de::i64")]
    id: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DepartmentList {
    #[serde(deserialize_with = "de::vec")]
    department: Vec<Department>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DepartmentOne {
    department: Department,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DepartmentIds {
    #[serde(deserialize_with = "de::vec")]
    department_id: Vec<DepartmentRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de> + Default"))]
struct UserList<T> {
    #[serde(deserialize_with = "de::vec")]
    userlist: Vec<T>,
}

impl WorkClient {
    /// A client for `base`: `https://qyapi.weixin.qq.com`, a private deployment's host, a
    /// 政务微信 tenant host, or a test double (a path prefix is kept).
    pub fn new(http: HttpClient, base: Url) -> Self {
        Self { http, base }
    }

    /// A client for [`super::Endpoints::qyapi_base`].
    pub fn with_endpoints(http: HttpClient, endpoints: &super::Endpoints) -> Self {
        Self::new(http, endpoints.qyapi_base.clone())
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The transport.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let mut q = Vec::with_capacity(query.len() + 1);
        q.push(("access_token", token));
        q.extend_from_slice(query);
        self.http.get(&self.base, path, &q).await
    }

    async fn post<B: Serialize + ?Sized, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, ApiError> {
        let mut q = Vec::with_capacity(query.len() + 1);
        q.push(("access_token", token));
        q.extend_from_slice(query);
        self.http.post(&self.base, path, &q, body).await
    }

    /// `GET /cgi-bin/gettoken`: one token per (corpid, secret), the same while valid
    /// (reference §4.1). Cache it per secret.
    pub async fn gettoken(&self, corpid: &str, corpsecret: &str) -> Result<AccessToken, ApiError> {
        self.http
            .get(
                &self.base,
                "/cgi-bin/gettoken",
                &[("corpid", corpid), ("corpsecret", corpsecret)],
            )
            .await
    }

    /// `GET /cgi-bin/getcallbackip`: addresses WeCom pushes from.
    pub async fn getcallbackip(&self, access_token: &str) -> Result<IpList, ApiError> {
        self.get("/cgi-bin/getcallbackip", access_token, &[]).await
    }

    /// `GET /cgi-bin/get_api_domain_ip`: addresses behind the API host.
    pub async fn get_api_domain_ip(&self, access_token: &str) -> Result<IpList, ApiError> {
        self.get("/cgi-bin/get_api_domain_ip", access_token, &[])
            .await
    }

    /// `POST /cgi-bin/department/create`; returns the new id.
    pub async fn department_create(
        &self,
        access_token: &str,
        department: &DepartmentWrite,
    ) -> Result<i64, ApiError> {
        let created: Created = self
            .post("/cgi-bin/department/create", access_token, &[], department)
            .await?;
        Ok(created.id)
    }

    /// `POST /cgi-bin/department/update`.
    pub async fn department_update(
        &self,
        access_token: &str,
        department: &DepartmentWrite,
    ) -> Result<Ack, ApiError> {
        self.post("/cgi-bin/department/update", access_token, &[], department)
            .await
    }

    /// `GET /cgi-bin/department/delete` (empty departments only).
    pub async fn department_delete(&self, access_token: &str, id: i64) -> Result<Ack, ApiError> {
        let id = id.to_string();
        self.get("/cgi-bin/department/delete", access_token, &[("id", &id)])
            .await
    }

    /// `GET /cgi-bin/department/list` (the subtree of `id`, or everything visible).
    pub async fn department_list(
        &self,
        access_token: &str,
        id: Option<i64>,
    ) -> Result<Vec<Department>, ApiError> {
        let id = id.map(|i| i.to_string());
        let query: Vec<(&str, &str)> = id.iter().map(|i| ("id", i.as_str())).collect();
        let list: DepartmentList = self
            .get("/cgi-bin/department/list", access_token, &query)
            .await?;
        Ok(list.department)
    }

    /// `GET /cgi-bin/department/simplelist`: ids only.
    pub async fn department_simplelist(
        &self,
        access_token: &str,
        id: Option<i64>,
    ) -> Result<Vec<DepartmentRef>, ApiError> {
        let id = id.map(|i| i.to_string());
        let query: Vec<(&str, &str)> = id.iter().map(|i| ("id", i.as_str())).collect();
        let list: DepartmentIds = self
            .get("/cgi-bin/department/simplelist", access_token, &query)
            .await?;
        Ok(list.department_id)
    }

    /// `GET /cgi-bin/department/get`.
    pub async fn department_get(
        &self,
        access_token: &str,
        id: i64,
    ) -> Result<Department, ApiError> {
        let id = id.to_string();
        let one: DepartmentOne = self
            .get("/cgi-bin/department/get", access_token, &[("id", &id)])
            .await?;
        Ok(one.department)
    }

    /// `POST /cgi-bin/user/create` (contacts-sync secret).
    pub async fn user_create(&self, access_token: &str, user: &UserWrite) -> Result<Ack, ApiError> {
        self.post("/cgi-bin/user/create", access_token, &[], user)
            .await
    }

    /// `POST /cgi-bin/user/update`.
    pub async fn user_update(&self, access_token: &str, user: &UserWrite) -> Result<Ack, ApiError> {
        self.post("/cgi-bin/user/update", access_token, &[], user)
            .await
    }

    /// `GET /cgi-bin/user/delete`.
    pub async fn user_delete(&self, access_token: &str, userid: &str) -> Result<Ack, ApiError> {
        self.get("/cgi-bin/user/delete", access_token, &[("userid", userid)])
            .await
    }

    /// `GET /cgi-bin/user/get`.
    pub async fn user_get(&self, access_token: &str, userid: &str) -> Result<User, ApiError> {
        self.get("/cgi-bin/user/get", access_token, &[("userid", userid)])
            .await
    }

    /// `GET /cgi-bin/user/list` (`fetch_child`: the whole subtree; legacy parameter).
    pub async fn user_list(
        &self,
        access_token: &str,
        department_id: i64,
        fetch_child: bool,
    ) -> Result<Vec<User>, ApiError> {
        let dept = department_id.to_string();
        let child = if fetch_child { "1" } else { "0" };
        let list: UserList<User> = self
            .get(
                "/cgi-bin/user/list",
                access_token,
                &[("department_id", &dept), ("fetch_child", child)],
            )
            .await?;
        Ok(list.userlist)
    }

    /// `GET /cgi-bin/user/simplelist`.
    pub async fn user_simplelist(
        &self,
        access_token: &str,
        department_id: i64,
        fetch_child: bool,
    ) -> Result<Vec<SimpleUser>, ApiError> {
        let dept = department_id.to_string();
        let child = if fetch_child { "1" } else { "0" };
        let list: UserList<SimpleUser> = self
            .get(
                "/cgi-bin/user/simplelist",
                access_token,
                &[("department_id", &dept), ("fetch_child", child)],
            )
            .await?;
        Ok(list.userlist)
    }

    /// `POST /cgi-bin/user/list_id`: one cursor page (limit 1–10 000; contacts-sync secret).
    pub async fn user_list_id(
        &self,
        access_token: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<ListIdPage, ApiError> {
        self.post(
            "/cgi-bin/user/list_id",
            access_token,
            &[],
            &json!({ "cursor": cursor, "limit": limit }),
        )
        .await
    }

    /// Every `user/list_id` row, page after page (stops on an empty or repeated cursor).
    pub async fn user_list_id_all(
        &self,
        access_token: &str,
        limit: u32,
    ) -> Result<Vec<DeptUser>, ApiError> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self.user_list_id(access_token, &cursor, limit).await?;
            all.extend(page.dept_user);
            if page.next_cursor.is_empty() || page.next_cursor == cursor {
                return Ok(all);
            }
            cursor = page.next_cursor;
        }
    }

    /// `POST /cgi-bin/message/send`.
    pub async fn message_send(
        &self,
        access_token: &str,
        message: &AppMessage,
    ) -> Result<SendResult, ApiError> {
        self.post("/cgi-bin/message/send", access_token, &[], message)
            .await
    }

    /// `POST /cgi-bin/message/recall` (within 24 h).
    pub async fn message_recall(&self, access_token: &str, msgid: &str) -> Result<Ack, ApiError> {
        self.post(
            "/cgi-bin/message/recall",
            access_token,
            &[],
            &json!({ "msgid": msgid }),
        )
        .await
    }

    /// `POST /cgi-bin/message/update_template_card`.
    pub async fn update_template_card(
        &self,
        access_token: &str,
        update: &UpdateTemplateCard,
    ) -> Result<UpdateCardResult, ApiError> {
        self.post(
            "/cgi-bin/message/update_template_card",
            access_token,
            &[],
            update,
        )
        .await
    }

    /// `GET /cgi-bin/agent/get`.
    pub async fn agent_get(&self, access_token: &str, agentid: i64) -> Result<Agent, ApiError> {
        let agentid = agentid.to_string();
        self.get("/cgi-bin/agent/get", access_token, &[("agentid", &agentid)])
            .await
    }

    /// `POST /cgi-bin/menu/create?agentid=` (reference §4.5).
    pub async fn menu_create(
        &self,
        access_token: &str,
        agentid: i64,
        menu: &Menu,
    ) -> Result<Ack, ApiError> {
        let agentid = agentid.to_string();
        self.post(
            "/cgi-bin/menu/create",
            access_token,
            &[("agentid", &agentid)],
            menu,
        )
        .await
    }

    /// `GET /cgi-bin/auth/getuserinfo`: exchanges an OAuth `code` (exempt from rate
    /// limits).
    pub async fn auth_getuserinfo(
        &self,
        access_token: &str,
        code: &str,
    ) -> Result<AuthUserInfo, ApiError> {
        self.get("/cgi-bin/auth/getuserinfo", access_token, &[("code", code)])
            .await
    }

    /// `POST /cgi-bin/auth/getuserdetail` with a `user_ticket`.
    pub async fn auth_getuserdetail(
        &self,
        access_token: &str,
        user_ticket: &str,
    ) -> Result<UserDetail, ApiError> {
        self.post(
            "/cgi-bin/auth/getuserdetail",
            access_token,
            &[],
            &json!({ "user_ticket": user_ticket }),
        )
        .await
    }

    /// `GET /cgi-bin/get_jsapi_ticket`: the corp ticket for `wx.config` (cache it).
    pub async fn get_jsapi_ticket(&self, access_token: &str) -> Result<Ticket, ApiError> {
        self.get("/cgi-bin/get_jsapi_ticket", access_token, &[])
            .await
    }

    /// `GET /cgi-bin/ticket/get?type=agent_config`: the app ticket for `wx.agentConfig`.
    pub async fn agent_config_ticket(&self, access_token: &str) -> Result<Ticket, ApiError> {
        self.get(
            "/cgi-bin/ticket/get",
            access_token,
            &[("type", "agent_config")],
        )
        .await
    }

    /// `POST /cgi-bin/checkin/getcheckindata`.
    pub async fn checkin_getcheckindata(
        &self,
        access_token: &str,
        query: &CheckinQuery,
    ) -> Result<Vec<CheckinRecord>, ApiError> {
        let data: CheckinData = self
            .post("/cgi-bin/checkin/getcheckindata", access_token, &[], query)
            .await?;
        Ok(data.checkindata)
    }

    /// `GET /cgi-bin/externalcontact/list`: customer ids of a member.
    pub async fn externalcontact_list(
        &self,
        access_token: &str,
        userid: &str,
    ) -> Result<Vec<String>, ApiError> {
        let ids: ExternalIds = self
            .get(
                "/cgi-bin/externalcontact/list",
                access_token,
                &[("userid", userid)],
            )
            .await?;
        Ok(ids.external_userid)
    }

    /// `GET /cgi-bin/externalcontact/get`.
    pub async fn externalcontact_get(
        &self,
        access_token: &str,
        external_userid: &str,
        cursor: Option<&str>,
    ) -> Result<ExternalContactDetail, ApiError> {
        let mut q = vec![("external_userid", external_userid)];
        if let Some(c) = cursor {
            q.push(("cursor", c));
        }
        self.get("/cgi-bin/externalcontact/get", access_token, &q)
            .await
    }

    /// `POST /cgi-bin/externalcontact/batch/get_by_user` (≤ 100 members, limit ≤ 100).
    pub async fn externalcontact_batch_get_by_user(
        &self,
        access_token: &str,
        userids: &[&str],
        cursor: &str,
        limit: u32,
    ) -> Result<ExternalContactPage, ApiError> {
        self.post(
            "/cgi-bin/externalcontact/batch/get_by_user",
            access_token,
            &[],
            &json!({ "userid_list": userids, "cursor": cursor, "limit": limit }),
        )
        .await
    }
}

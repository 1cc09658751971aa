//! A WeCom corp's address book: the department tree and its members (reference §4.6, §4.7).
//!
//! Members live in a `BTreeMap` keyed by lower-cased userid (userids are unique
//! case-insensitively), so `user/list_id` pages in O(page size): the cursor encodes the last
//! key and the position inside that member's department list.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::WxError;

/// Maximum depth of the tree, root included (81002 beyond).
pub const MAX_DEPTH: usize = 15;
/// Maximum direct children + members of one department (81001 beyond).
pub const MAX_NODES: usize = 30_000;
/// Maximum departments per member (60110 beyond).
pub const MAX_MEMBER_DEPARTMENTS: usize = 100;

/// A department (`department/get` shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Department {
    /// Id; 1 is the root.
    pub id: u32,
    /// Name, 1..64 characters.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Parent id (0 for the root).
    pub parentid: u32,
    /// Sort order, larger first.
    pub order: u32,
    /// Userids of the department's leaders.
    pub department_leader: Vec<String>,
}

/// A member (`user/get` shape, writable part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Member {
    /// Userid, unique case-insensitively.
    pub userid: String,
    /// Display name.
    pub name: String,
    /// Alias.
    pub alias: String,
    /// Department ids (at least one).
    pub department: Vec<u32>,
    /// Order within each department (same length as `department`).
    pub order: Vec<u32>,
    /// 1 = leader in the department at the same index.
    pub is_leader_in_dept: Vec<u8>,
    /// Main department (one of `department`).
    pub main_department: u32,
    /// Job title.
    pub position: String,
    /// Mobile, unique in the corp.
    pub mobile: String,
    /// "0" unknown, "1" male, "2" female.
    pub gender: String,
    /// E-mail, unique in the corp.
    pub email: String,
    /// Corporate mailbox.
    pub biz_mail: String,
    /// Landline.
    pub telephone: String,
    /// Address.
    pub address: String,
    /// Direct leaders' userids.
    pub direct_leader: Vec<String>,
    /// 1 enabled, 0 disabled.
    pub enable: u8,
    /// 1 activated, 2 disabled, 4 not activated, 5 exited.
    pub status: u8,
    /// Extended attributes `{"attrs":[...]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extattr: Option<Value>,
    /// External title.
    pub external_position: String,
    /// Avatar URL.
    pub avatar: String,
}

impl Default for Member {
    fn default() -> Self {
        Self {
            userid: String::new(),
            name: String::new(),
            alias: String::new(),
            department: Vec::new(),
            order: Vec::new(),
            is_leader_in_dept: Vec::new(),
            main_department: 0,
            position: String::new(),
            mobile: String::new(),
            gender: "0".into(),
            email: String::new(),
            biz_mail: String::new(),
            telephone: String::new(),
            address: String::new(),
            direct_leader: Vec::new(),
            enable: 1,
            status: 1,
            extattr: None,
            external_position: String::new(),
            avatar: String::new(),
        }
    }
}

impl Member {
    /// True when messages reach this member (enabled and not exited).
    pub fn deliverable(&self) -> bool {
        self.enable == 1 && self.status != 2 && self.status != 5
    }

    /// `user/get` JSON; `sensitive` = include mobile/email/gender/avatar etc. (reference
    /// §4.7.2: apps created after 2022-06-20 do not get them).
    pub fn to_json(&self, sensitive: bool) -> Value {
        let mut v = json!({
            "userid": self.userid,
            "name": self.name,
            "department": self.department,
            "order": self.order,
            "position": self.position,
            "is_leader_in_dept": self.is_leader_in_dept,
            "direct_leader": self.direct_leader,
            "telephone": self.telephone,
            "alias": self.alias,
            "main_department": self.main_department,
            "status": self.status,
            "enable": self.enable,
            "extattr": self.extattr.clone().unwrap_or_else(|| json!({"attrs": []})),
            "external_position": self.external_position,
        });
        if sensitive && let Some(obj) = v.as_object_mut() {
            obj.insert("mobile".into(), json!(self.mobile));
            obj.insert("gender".into(), json!(self.gender));
            obj.insert("email".into(), json!(self.email));
            obj.insert("biz_mail".into(), json!(self.biz_mail));
            obj.insert("avatar".into(), json!(self.avatar));
            obj.insert("thumb_avatar".into(), json!(self.avatar));
            obj.insert("address".into(), json!(self.address));
            obj.insert("qr_code".into(), json!(""));
        }
        v
    }
}

/// Body of `department/create` and `department/update`.
#[derive(Debug, Default, Deserialize)]
pub struct DepartmentPatch {
    /// Id (update: required; create: optional, > 1).
    pub id: Option<u32>,
    /// Name.
    pub name: Option<String>,
    /// English name.
    pub name_en: Option<String>,
    /// Parent id.
    pub parentid: Option<u32>,
    /// Order.
    pub order: Option<u32>,
}

/// Body of `user/create` and `user/update`: absent fields are left untouched on update.
#[derive(Debug, Default, Deserialize)]
pub struct MemberPatch {
    /// Userid (required).
    pub userid: Option<String>,
    /// New userid (update only).
    pub new_userid: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Alias.
    pub alias: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Departments.
    pub department: Option<Vec<u32>>,
    /// Orders.
    pub order: Option<Vec<u32>>,
    /// Position.
    pub position: Option<String>,
    /// Gender, as string or number.
    pub gender: Option<Value>,
    /// E-mail.
    pub email: Option<String>,
    /// Corporate mailbox.
    pub biz_mail: Option<String>,
    /// Landline.
    pub telephone: Option<String>,
    /// Leader flags.
    pub is_leader_in_dept: Option<Vec<u8>>,
    /// Direct leaders.
    pub direct_leader: Option<Vec<String>>,
    /// Enable flag.
    pub enable: Option<u8>,
    /// Extended attributes.
    pub extattr: Option<Value>,
    /// Main department.
    pub main_department: Option<u32>,
    /// Address.
    pub address: Option<String>,
    /// External position.
    pub external_position: Option<String>,
}

/// Department tree plus members, with the indexes the endpoints need.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    departments: BTreeMap<u32, Department>,
    children: HashMap<u32, BTreeSet<u32>>,
    members: BTreeMap<String, Member>,
    dept_members: HashMap<u32, BTreeSet<String>>,
    mobiles: HashMap<String, String>,
    emails: HashMap<String, String>,
}

fn key_of(userid: &str) -> String {
    userid.to_ascii_lowercase()
}

/// `[0-9A-Za-z_-@.]`, 1..64 bytes, first character a digit or letter (reference §4.7.1).
pub fn valid_userid(userid: &str) -> bool {
    !userid.is_empty()
        && userid.len() <= 64
        && userid.starts_with(|c: char| c.is_ascii_alphanumeric())
        && userid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '.'))
}

fn valid_mobile(mobile: &str) -> bool {
    mobile.chars().count() <= 32
        && mobile.chars().any(|c| c.is_ascii_digit())
        && mobile
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    (6..=64).contains(&email.len())
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
}

fn check_department_name(name: &str) -> Result<(), WxError> {
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Err(WxError::work(60001));
    }
    if name.contains(['\\', ':', '*', '?', '"', '<', '>', '|']) {
        return Err(WxError::work(60009));
    }
    Ok(())
}

/// Digits only, without a mainland country code, so `+86 138...` and `138...` collide.
fn mobile_key(mobile: &str) -> String {
    let digits: String = mobile.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 => rest.to_owned(),
        _ => digits,
    }
}

fn gender_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".into(),
    }
}

impl Directory {
    /// Builds a directory from seed data; creates the root (id 1, named `root_name`) if absent.
    pub fn from_parts(
        departments: Vec<Department>,
        members: Vec<Member>,
        root_name: &str,
    ) -> Result<Self, String> {
        let mut dir = Directory::default();
        for mut d in departments {
            if d.id == 0 {
                return Err(format!("department {:?} has id 0", d.name));
            }
            if d.id == 1 {
                d.parentid = 0;
            }
            let id = d.id;
            if dir.departments.insert(id, d).is_some() {
                return Err(format!("duplicate department id {id}"));
            }
        }
        dir.departments.entry(1).or_insert_with(|| Department {
            id: 1,
            name: root_name.to_owned(),
            ..Department::default()
        });
        for d in dir.departments.values() {
            if d.id == 1 {
                continue;
            }
            if !dir.departments.contains_key(&d.parentid) {
                return Err(format!(
                    "department {} has unknown parent {}",
                    d.id, d.parentid
                ));
            }
            dir.children.entry(d.parentid).or_default().insert(d.id);
        }
        // Depth check with memoisation; a walk longer than the tree size means a cycle.
        let mut depth: HashMap<u32, usize> = HashMap::with_capacity(dir.departments.len());
        depth.insert(1, 1);
        for &id in dir.departments.keys() {
            let mut path = Vec::new();
            let mut cur = id;
            while !depth.contains_key(&cur) {
                path.push(cur);
                if path.len() > dir.departments.len() {
                    return Err(format!("department {id} is in a cycle"));
                }
                cur = dir.departments.get(&cur).map(|d| d.parentid).unwrap_or(1);
            }
            let mut d = depth.get(&cur).copied().unwrap_or(1);
            for node in path.into_iter().rev() {
                d += 1;
                depth.insert(node, d);
            }
            if d > MAX_DEPTH {
                return Err(format!("department {id} is deeper than {MAX_DEPTH} levels"));
            }
        }
        for mut m in members {
            if !valid_userid(&m.userid) {
                return Err(format!("invalid userid {:?}", m.userid));
            }
            if m.department.is_empty() {
                return Err(format!("member {} has no department", m.userid));
            }
            if let Some(bad) = m
                .department
                .iter()
                .find(|id| !dir.departments.contains_key(id))
            {
                return Err(format!("member {} in unknown department {bad}", m.userid));
            }
            m.order.resize(m.department.len(), 0);
            m.is_leader_in_dept.resize(m.department.len(), 0);
            if !m.department.contains(&m.main_department) {
                m.main_department = m.department[0];
            }
            let key = key_of(&m.userid);
            if dir.members.contains_key(&key) {
                return Err(format!("duplicate userid {}", m.userid));
            }
            if !m.mobile.is_empty()
                && dir
                    .mobiles
                    .insert(mobile_key(&m.mobile), key.clone())
                    .is_some()
            {
                return Err(format!("duplicate mobile {}", m.mobile));
            }
            if !m.email.is_empty()
                && dir
                    .emails
                    .insert(m.email.to_ascii_lowercase(), key.clone())
                    .is_some()
            {
                return Err(format!("duplicate email {}", m.email));
            }
            for &d in &m.department {
                dir.dept_members.entry(d).or_default().insert(key.clone());
            }
            dir.members.insert(key, m);
        }
        Ok(dir)
    }

    /// All departments, by id.
    pub fn departments(&self) -> impl Iterator<Item = &Department> {
        self.departments.values()
    }

    /// All members, by lower-cased userid.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// Number of departments.
    pub fn department_count(&self) -> usize {
        self.departments.len()
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// A department by id.
    pub fn department(&self, id: u32) -> Option<&Department> {
        self.departments.get(&id)
    }

    /// A member by userid (case-insensitive).
    pub fn member(&self, userid: &str) -> Option<&Member> {
        self.members.get(&key_of(userid))
    }

    /// A member by userid for direct modification by tests. Do not change `userid`,
    /// `department`, `mobile` or `email` this way (the indexes would go stale).
    pub fn member_mut(&mut self, userid: &str) -> Option<&mut Member> {
        self.members.get_mut(&key_of(userid))
    }

    /// Depth of a department (root = 1); 0 for an unknown id.
    pub fn depth(&self, id: u32) -> usize {
        let mut depth = 0;
        let mut cur = id;
        while let Some(d) = self.departments.get(&cur) {
            depth += 1;
            if d.id == 1 || depth > self.departments.len() {
                break;
            }
            cur = d.parentid;
        }
        depth
    }

    /// True when `id` is `ancestor` or below it.
    pub fn is_within(&self, id: u32, ancestor: u32) -> bool {
        let mut cur = id;
        for _ in 0..=MAX_DEPTH * 2 {
            if cur == ancestor {
                return true;
            }
            match self.departments.get(&cur) {
                Some(d) if d.id != 1 => cur = d.parentid,
                _ => return false,
            }
        }
        false
    }

    fn sorted_children(&self, id: u32) -> Vec<u32> {
        let mut kids: Vec<u32> = self
            .children
            .get(&id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        kids.sort_by_key(|k| {
            let order = self.departments.get(k).map(|d| d.order).unwrap_or(0);
            (std::cmp::Reverse(order), *k)
        });
        kids
    }

    /// `id` and every department below it, parents before children, siblings by order.
    pub fn subtree(&self, id: u32) -> Vec<u32> {
        let mut out = Vec::new();
        if !self.departments.contains_key(&id) {
            return out;
        }
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            out.push(cur);
            let kids = self.sorted_children(cur);
            stack.extend(kids.into_iter().rev());
        }
        out
    }

    fn height(&self, id: u32) -> usize {
        let base = self.depth(id);
        self.subtree(id)
            .into_iter()
            .map(|d| self.depth(d) + 1 - base)
            .max()
            .unwrap_or(1)
    }

    fn node_count(&self, id: u32) -> usize {
        self.children.get(&id).map_or(0, BTreeSet::len)
            + self.dept_members.get(&id).map_or(0, BTreeSet::len)
    }

    /// Members directly in `dept`, or in its subtree when `recursive`; each member once.
    pub fn members_in(&self, dept: u32, recursive: bool) -> Vec<&Member> {
        let depts = if recursive {
            self.subtree(dept)
        } else {
            vec![dept]
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for d in depts {
            for key in self.dept_members.get(&d).into_iter().flatten() {
                if seen.insert(key.as_str())
                    && let Some(m) = self.members.get(key)
                {
                    out.push(m);
                }
            }
        }
        out
    }

    /// `department/create`; returns the new id.
    pub fn create_department(&mut self, p: DepartmentPatch) -> Result<u32, WxError> {
        let name = p.name.ok_or_else(|| WxError::work(60001))?;
        check_department_name(&name)?;
        if let Some(en) = &p.name_en {
            check_department_name(en)?;
        }
        let parent = p.parentid.ok_or_else(|| WxError::work(60124))?;
        if !self.departments.contains_key(&parent) {
            return Err(WxError::work(60004));
        }
        let id = match p.id {
            Some(id) if id <= 1 => return Err(WxError::work(60123)),
            Some(id) if self.departments.contains_key(&id) => {
                return Err(WxError::new(60008, "department existed, id conflict"));
            }
            Some(id) => id,
            None => self
                .departments
                .keys()
                .next_back()
                .map_or(2, |max| max.saturating_add(1)),
        };
        self.check_sibling_name(parent, &name, None)?;
        if self.depth(parent) + 1 > MAX_DEPTH {
            return Err(WxError::work(81002));
        }
        if self.node_count(parent) >= MAX_NODES {
            return Err(WxError::work(81001));
        }
        self.departments.insert(
            id,
            Department {
                id,
                name,
                name_en: p.name_en.unwrap_or_default(),
                parentid: parent,
                order: p.order.unwrap_or(0),
                department_leader: Vec::new(),
            },
        );
        self.children.entry(parent).or_default().insert(id);
        Ok(id)
    }

    fn check_sibling_name(
        &self,
        parent: u32,
        name: &str,
        except: Option<u32>,
    ) -> Result<(), WxError> {
        let clash =
            self.children.get(&parent).into_iter().flatten().any(|k| {
                Some(*k) != except && self.departments.get(k).is_some_and(|d| d.name == name)
            });
        if clash {
            Err(WxError::new(60008, "department existed, name conflict"))
        } else {
            Ok(())
        }
    }

    /// `department/update`: absent fields untouched.
    pub fn update_department(&mut self, p: DepartmentPatch) -> Result<(), WxError> {
        let id = p.id.ok_or_else(|| WxError::work(60123))?;
        let current = self
            .departments
            .get(&id)
            .cloned()
            .ok_or_else(|| WxError::work(60003))?;
        let new_parent = match p.parentid {
            Some(parent) if parent != current.parentid => {
                if id == 1 {
                    return Err(WxError::work(60124));
                }
                if !self.departments.contains_key(&parent) {
                    return Err(WxError::work(60004));
                }
                if self.is_within(parent, id) {
                    return Err(WxError::work(60010));
                }
                if self.depth(parent) + self.height(id) > MAX_DEPTH {
                    return Err(WxError::work(81002));
                }
                if self.node_count(parent) >= MAX_NODES {
                    return Err(WxError::work(81001));
                }
                Some(parent)
            }
            _ => None,
        };
        if let Some(name) = &p.name {
            check_department_name(name)?;
        }
        if let Some(en) = &p.name_en {
            check_department_name(en)?;
        }
        let parent = new_parent.unwrap_or(current.parentid);
        let name = p.name.clone().unwrap_or_else(|| current.name.clone());
        if id != 1 && (p.name.is_some() || new_parent.is_some()) {
            self.check_sibling_name(parent, &name, Some(id))?;
        }
        if let Some(np) = new_parent {
            if let Some(set) = self.children.get_mut(&current.parentid) {
                set.remove(&id);
            }
            self.children.entry(np).or_default().insert(id);
        }
        if let Some(d) = self.departments.get_mut(&id) {
            d.name = name;
            if let Some(en) = p.name_en {
                d.name_en = en;
            }
            d.parentid = parent;
            if let Some(order) = p.order {
                d.order = order;
            }
        }
        Ok(())
    }

    /// `department/delete`: only empty departments, never the root.
    pub fn delete_department(&mut self, id: u32) -> Result<(), WxError> {
        if id == 1 {
            return Err(WxError::work(60007));
        }
        let parent = self
            .departments
            .get(&id)
            .map(|d| d.parentid)
            .ok_or_else(|| WxError::work(60003))?;
        if self.children.get(&id).is_some_and(|c| !c.is_empty()) {
            return Err(WxError::work(60006));
        }
        if self.dept_members.get(&id).is_some_and(|m| !m.is_empty()) {
            return Err(WxError::work(60005));
        }
        self.departments.remove(&id);
        self.children.remove(&id);
        self.dept_members.remove(&id);
        if let Some(set) = self.children.get_mut(&parent) {
            set.remove(&id);
        }
        Ok(())
    }

    fn check_departments(&self, depts: &[u32], key: Option<&str>) -> Result<(), WxError> {
        if depts.is_empty() {
            return Err(WxError::work(40066));
        }
        if depts.len() > MAX_MEMBER_DEPARTMENTS {
            return Err(WxError::work(60110));
        }
        for d in depts {
            if !self.departments.contains_key(d) {
                return Err(WxError::new(60003, format!("department not found: {d}")));
            }
            let already =
                key.is_some_and(|k| self.dept_members.get(d).is_some_and(|s| s.contains(k)));
            if !already && self.node_count(*d) >= MAX_NODES {
                return Err(WxError::work(81001));
            }
        }
        Ok(())
    }

    fn check_contact(
        &self,
        mobile: Option<&str>,
        email: Option<&str>,
        key: &str,
    ) -> Result<(), WxError> {
        if let Some(mobile) = mobile.filter(|m| !m.is_empty()) {
            if !valid_mobile(mobile) {
                return Err(WxError::work(60103));
            }
            if self
                .mobiles
                .get(&mobile_key(mobile))
                .is_some_and(|k| k != key)
            {
                return Err(WxError::work(60104));
            }
        }
        if let Some(email) = email.filter(|e| !e.is_empty()) {
            if !valid_email(email) {
                return Err(WxError::work(60105));
            }
            if self
                .emails
                .get(&email.to_ascii_lowercase())
                .is_some_and(|k| k != key)
            {
                return Err(WxError::work(60106));
            }
        }
        Ok(())
    }

    /// `user/create`. New members are "not activated" (status 4) or disabled (status 2).
    pub fn create_member(&mut self, p: MemberPatch) -> Result<(), WxError> {
        let userid = p.userid.ok_or_else(|| WxError::work(41009))?;
        if !valid_userid(&userid) {
            return Err(WxError::work(40003));
        }
        let key = key_of(&userid);
        if self.members.contains_key(&key) {
            return Err(WxError::work(60102));
        }
        let name = p.name.unwrap_or_default();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(WxError::work(60112));
        }
        let department = p.department.unwrap_or_default();
        self.check_departments(&department, None)?;
        let n = department.len();
        let order = match p.order {
            Some(o) if o.len() != n => {
                return Err(WxError::new(
                    40058,
                    "invalid parameter, order size mismatch",
                ));
            }
            Some(o) => o,
            None => vec![0; n],
        };
        let is_leader_in_dept = match p.is_leader_in_dept {
            Some(l) if l.len() != n => {
                return Err(WxError::new(
                    40058,
                    "invalid parameter, is_leader_in_dept size mismatch",
                ));
            }
            Some(l) => l,
            None => vec![0; n],
        };
        let main_department = match p.main_department {
            Some(m) if !department.contains(&m) => {
                return Err(WxError::new(40058, "invalid parameter, main_department"));
            }
            Some(m) => m,
            None => department[0],
        };
        let position = p.position.unwrap_or_default();
        if position.chars().count() > 128 {
            return Err(WxError::work(301012));
        }
        let mobile = p.mobile.unwrap_or_default();
        let email = p.email.unwrap_or_default();
        self.check_contact(Some(&mobile), Some(&email), &key)?;
        let enable = p.enable.unwrap_or(1);
        let member = Member {
            userid,
            name,
            alias: p.alias.unwrap_or_default(),
            department,
            order,
            is_leader_in_dept,
            main_department,
            position,
            mobile,
            gender: p.gender.as_ref().map_or_else(|| "0".into(), gender_string),
            email,
            biz_mail: p.biz_mail.unwrap_or_default(),
            telephone: p.telephone.unwrap_or_default(),
            address: p.address.unwrap_or_default(),
            direct_leader: p.direct_leader.unwrap_or_default(),
            enable,
            status: if enable == 1 { 4 } else { 2 },
            extattr: p.extattr,
            external_position: p.external_position.unwrap_or_default(),
            avatar: String::new(),
        };
        self.insert_member(key, member);
        Ok(())
    }

    fn insert_member(&mut self, key: String, m: Member) {
        if !m.mobile.is_empty() {
            self.mobiles.insert(mobile_key(&m.mobile), key.clone());
        }
        if !m.email.is_empty() {
            self.emails
                .insert(m.email.to_ascii_lowercase(), key.clone());
        }
        for d in &m.department {
            self.dept_members.entry(*d).or_default().insert(key.clone());
        }
        self.members.insert(key, m);
    }

    fn remove_member(&mut self, key: &str) -> Option<Member> {
        let m = self.members.remove(key)?;
        if !m.mobile.is_empty() {
            self.mobiles.remove(&mobile_key(&m.mobile));
        }
        if !m.email.is_empty() {
            self.emails.remove(&m.email.to_ascii_lowercase());
        }
        for d in &m.department {
            if let Some(set) = self.dept_members.get_mut(d) {
                set.remove(key);
            }
        }
        Some(m)
    }

    /// `user/update`. Mobile and e-mail of activated members (status 1) are ignored silently
    /// (reference §4.7.3).
    pub fn update_member(&mut self, p: MemberPatch) -> Result<(), WxError> {
        let userid = p.userid.clone().ok_or_else(|| WxError::work(41009))?;
        let key = key_of(&userid);
        let mut m = self
            .members
            .get(&key)
            .cloned()
            .ok_or_else(|| WxError::work(60111))?;
        if let Some(new) = &p.new_userid
            && key_of(new) != key
        {
            return Err(WxError::work(301036));
        }
        if let Some(name) = p.name {
            if name.is_empty() || name.chars().count() > 64 {
                return Err(WxError::work(60112));
            }
            m.name = name;
        }
        if let Some(dept) = p.department {
            self.check_departments(&dept, Some(&key))?;
            if dept != m.department {
                m.order = vec![0; dept.len()];
                m.is_leader_in_dept = vec![0; dept.len()];
                if !dept.contains(&m.main_department) {
                    m.main_department = dept[0];
                }
                m.department = dept;
            }
        }
        let n = m.department.len();
        if let Some(order) = p.order {
            if order.len() != n {
                return Err(WxError::new(
                    40058,
                    "invalid parameter, order size mismatch",
                ));
            }
            m.order = order;
        }
        if let Some(l) = p.is_leader_in_dept {
            if l.len() != n {
                return Err(WxError::new(
                    40058,
                    "invalid parameter, is_leader_in_dept size mismatch",
                ));
            }
            m.is_leader_in_dept = l;
        }
        if let Some(main) = p.main_department {
            if !m.department.contains(&main) {
                return Err(WxError::new(40058, "invalid parameter, main_department"));
            }
            m.main_department = main;
        }
        if let Some(position) = p.position {
            if position.chars().count() > 128 {
                return Err(WxError::work(301012));
            }
            m.position = position;
        }
        if m.status != 1 {
            self.check_contact(p.mobile.as_deref(), p.email.as_deref(), &key)?;
            if let Some(mobile) = p.mobile {
                m.mobile = mobile;
            }
            if let Some(email) = p.email {
                m.email = email;
            }
        }
        if let Some(v) = p.alias {
            m.alias = v;
        }
        if let Some(v) = p.gender {
            m.gender = gender_string(&v);
        }
        if let Some(v) = p.biz_mail {
            m.biz_mail = v;
        }
        if let Some(v) = p.telephone {
            m.telephone = v;
        }
        if let Some(v) = p.address {
            m.address = v;
        }
        if let Some(v) = p.direct_leader {
            m.direct_leader = v;
        }
        if let Some(v) = p.extattr {
            m.extattr = Some(v);
        }
        if let Some(v) = p.external_position {
            m.external_position = v;
        }
        if let Some(enable) = p.enable {
            if enable == 0 {
                m.status = 2;
            } else if m.enable == 0 {
                m.status = 1;
            }
            m.enable = u8::from(enable != 0);
        }
        self.remove_member(&key);
        self.insert_member(key, m);
        Ok(())
    }

    /// `user/delete`.
    pub fn delete_member(&mut self, userid: &str) -> Result<(), WxError> {
        self.remove_member(&key_of(userid))
            .map(|_| ())
            .ok_or_else(|| WxError::work(60111))
    }

    /// One page of `user/list_id`: `(userid, department)` rows and the next cursor (empty at
    /// the end). Costs O(limit + log n).
    pub fn list_id(
        &self,
        cursor: &str,
        limit: usize,
    ) -> Result<(Vec<(String, u32)>, String), WxError> {
        let start = if cursor.is_empty() {
            None
        } else {
            Some(decode_cursor(cursor).ok_or_else(|| WxError::new(40058, "invalid cursor"))?)
        };
        let range = match &start {
            None => self.members.range::<str, _>(..),
            Some((key, _)) => self
                .members
                .range::<str, _>((Bound::Included(key.as_str()), Bound::Unbounded)),
        };
        let mut rows = Vec::with_capacity(limit.min(self.members.len() * 2));
        for (key, m) in range {
            let from = match &start {
                Some((k, idx)) if k == key => *idx,
                _ => 0,
            };
            for (idx, dept) in m.department.iter().enumerate().skip(from) {
                if rows.len() == limit {
                    return Ok((rows, encode_cursor(key, idx)));
                }
                rows.push((m.userid.clone(), *dept));
            }
        }
        Ok((rows, String::new()))
    }
}

fn encode_cursor(key: &str, idx: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{idx}:{key}"))
}

fn decode_cursor(cursor: &str) -> Option<(String, usize)> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (idx, key) = text.split_once(':')?;
    Some((key.to_owned(), idx.parse().ok()?))
}

/// `department/list` JSON of one department.
pub fn department_json(d: &Department) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "name_en": d.name_en,
        "department_leader": d.department_leader,
        "parentid": d.parentid,
        "order": d.order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Directory {
        let depts = vec![
            Department {
                id: 2,
                name: "研发".into(),
                parentid: 1,
                ..Default::default()
            },
            Department {
                id: 3,
                name: "后端".into(),
                parentid: 2,
                ..Default::default()
            },
        ];
        let members = vec![
            Member {
                userid: "ZhangSan".into(),
                name: "张三".into(),
                department: vec![2, 3],
                ..Default::default()
            },
            Member {
                userid: "lisi".into(),
                name: "李四".into(),
                department: vec![3],
                ..Default::default()
            },
        ];
        Directory::from_parts(depts, members, "总部").unwrap()
    }

    #[test]
    fn list_id_pages_through_every_row_once() {
        let dir = small();
        let mut cursor = String::new();
        let mut rows = Vec::new();
        loop {
            let (page, next) = dir.list_id(&cursor, 1).unwrap();
            assert!(page.len() <= 1);
            rows.extend(page);
            if next.is_empty() {
                break;
            }
            cursor = next;
        }
        assert_eq!(
            rows,
            vec![
                ("lisi".to_string(), 3),
                ("ZhangSan".to_string(), 2),
                ("ZhangSan".to_string(), 3)
            ]
        );
        assert!(dir.list_id("not base64!", 10).is_err());
    }

    #[test]
    fn department_rules() {
        let mut dir = small();
        let e = dir.delete_department(2).unwrap_err();
        assert_eq!(e.errcode, 60006);
        assert_eq!(dir.delete_department(1).unwrap_err().errcode, 60007);
        let id = dir
            .create_department(DepartmentPatch {
                name: Some("前端".into()),
                parentid: Some(2),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(id, 4);
        let dup = dir
            .create_department(DepartmentPatch {
                name: Some("前端".into()),
                parentid: Some(2),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(dup.errcode, 60008);
        let bad = dir
            .create_department(DepartmentPatch {
                name: Some("a:b".into()),
                parentid: Some(2),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(bad.errcode, 60009);
        // moving 2 under its own child is a cycle
        let cyc = dir
            .update_department(DepartmentPatch {
                id: Some(2),
                parentid: Some(3),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(cyc.errcode, 60010);
        assert_eq!(dir.subtree(1), vec![1, 2, 3, 4]);
        dir.delete_department(4).unwrap();
        assert_eq!(dir.delete_department(3).unwrap_err().errcode, 60005);
    }

    #[test]
    fn depth_limit() {
        let mut dir = small();
        let mut parent = 3;
        for i in 0..12 {
            parent = dir
                .create_department(DepartmentPatch {
                    name: Some(format!("d{i}")),
                    parentid: Some(parent),
                    ..Default::default()
                })
                .unwrap();
        }
        assert_eq!(dir.depth(parent), 15);
        let e = dir
            .create_department(DepartmentPatch {
                name: Some("too deep".into()),
                parentid: Some(parent),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.errcode, 81002);
    }

    #[test]
    fn member_rules() {
        let mut dir = small();
        let e = dir
            .create_member(MemberPatch {
                userid: Some("zhangsan".into()),
                name: Some("x".into()),
                department: Some(vec![1]),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.errcode, 60102, "userids are unique case-insensitively");
        let e = dir
            .create_member(MemberPatch {
                userid: Some("-bad".into()),
                name: Some("x".into()),
                department: Some(vec![1]),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.errcode, 40003);
        dir.create_member(MemberPatch {
            userid: Some("wangwu".into()),
            name: Some("王五".into()),
            department: Some(vec![1]),
            mobile: Some("+86 13800000001".into()),
            ..Default::default()
        })
        .unwrap();
        let e = dir
            .create_member(MemberPatch {
                userid: Some("zhaoliu".into()),
                name: Some("赵六".into()),
                department: Some(vec![1]),
                mobile: Some("13800000001".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.errcode, 60104);
        assert_eq!(dir.member("WANGWU").unwrap().status, 4);
        dir.update_member(MemberPatch {
            userid: Some("wangwu".into()),
            department: Some(vec![2, 3]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(dir.members_in(2, true).len(), 3);
        assert_eq!(dir.members_in(1, false).len(), 0);
        dir.delete_member("WangWu").unwrap();
        assert_eq!(dir.delete_member("wangwu").unwrap_err().errcode, 60111);
    }
}

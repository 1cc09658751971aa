//! The seed: the world the simulator starts with (Official Accounts with fans, WeCom corps with
//! apps and an address book, Mini Programs). Serializable as TOML or JSON; [`Seed::demo`] is a
//! small realistic organisation and [`Seed::generated`] a large deterministic one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::accounts::{AccountKind, Fan, MpUser, OaTag, Template};
use crate::state::corp::{App, ContactsAccess, ContactsSecret, CorpTag, Visibility};
use crate::state::crm::{CheckinRecord, ExternalContact, FollowUser};
use crate::state::directory::{Department, Member};

/// Errors loading a seed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read seed file {path}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Bad TOML.
    #[error("TOML seed: {0}")]
    Toml(#[from] toml::de::Error),
    /// Bad JSON.
    #[error("JSON seed: {0}")]
    Json(#[from] serde_json::Error),
    /// Inconsistent content (duplicate ids, unknown parents, depth > 15...).
    #[error("{0}")]
    Invalid(String),
}

/// An Official Account in the seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSeed {
    /// AppID (`wx` + 16 hex).
    pub appid: String,
    /// AppSecret (32 hex).
    pub secret: String,
    /// Name.
    pub name: String,
    /// Original id (`gh_...`).
    pub original_id: String,
    /// `service` or `subscription`.
    pub kind: AccountKind,
    /// Verified (认证).
    pub verified: bool,
    /// Fans.
    pub fans: Vec<Fan>,
    /// Tags.
    pub tags: Vec<OaTag>,
    /// Template library.
    pub templates: Vec<Template>,
    /// Subscription-message templates (`message/subscribe/bizsend`).
    pub subscribe_templates: Vec<Template>,
    /// 网页授权域名: `host[:port][/path]` entries `redirect_uri` must match; empty = any.
    pub redirect_domains: Vec<String>,
    /// IP whitelist (IPs or IPv4 CIDRs); empty = any caller (40164 otherwise).
    pub trusted_ips: Vec<String>,
}

/// A WeCom corp in the seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorpSeed {
    /// Corp id (`ww` + 16 hex).
    pub corpid: String,
    /// Name (also the root department's name when the seed has no department 1).
    pub name: String,
    /// Contacts-sync secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<ContactsSecret>,
    /// Self-built apps.
    pub apps: Vec<App>,
    /// Departments (id 1 = root).
    pub departments: Vec<Department>,
    /// Members.
    pub members: Vec<Member>,
    /// Tags.
    pub tags: Vec<CorpTag>,
    /// External contacts (customers) with the members following them.
    pub external_contacts: Vec<ExternalContact>,
    /// Check-in records; members without records get generated ones when
    /// `generate_checkins` is on.
    pub checkins: Vec<CheckinRecord>,
    /// Generate deterministic on/off-duty records for every member on weekdays.
    pub generate_checkins: bool,
}

/// A Mini Program in the seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MiniProgramSeed {
    /// AppID.
    pub appid: String,
    /// AppSecret.
    pub secret: String,
    /// Name.
    pub name: String,
    /// Users.
    pub users: Vec<MpUser>,
    /// Original id (`gh_...`), the `ToUserName` of pushes.
    pub original_id: String,
    /// Subscribe-message templates (`message/subscribe/send`).
    pub subscribe_templates: Vec<Template>,
    /// IP whitelist; empty = any caller.
    pub trusted_ips: Vec<String>,
}

/// The whole seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seed {
    /// Official Accounts.
    pub official_accounts: Vec<AccountSeed>,
    /// WeCom corps.
    pub corps: Vec<CorpSeed>,
    /// Mini Programs.
    pub mini_programs: Vec<MiniProgramSeed>,
    /// WeCom third-party suites (service providers' apps).
    pub suites: Vec<SuiteSeed>,
    /// Callback URLs registered at start (same shape as `POST /sim/callbacks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<crate::callback::CallbackConfig>,
}

/// A WeCom third-party app (suite) of a service provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SuiteSeed {
    /// Suite id (`ww...` / `wx...`).
    pub suite_id: String,
    /// Suite secret.
    pub suite_secret: String,
    /// Name of the app.
    pub name: String,
    /// The provider's own corpid (receive id of URL verification).
    pub provider_corpid: String,
    /// The provider secret (`service/get_provider_token`).
    pub provider_secret: String,
    /// Agent id the app gets inside an authorising corp.
    pub agentid: u32,
    /// Trusted redirect domains of the suite (OAuth, install redirect); empty = any.
    pub redirect_domains: Vec<String>,
    /// Token of the suite's callback URLs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// EncodingAESKey of the suite's callback URLs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding_aes_key: String,
    /// Command URL (指令回调), registered at start when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command_url: String,
    /// Data URL (数据回调, `$CORPID$` allowed), registered at start when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data_url: String,
}

/// Parameters of [`Seed::generated`], parsed from `members=N,departments=M,fans=F,seed=S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateSpec {
    /// RNG seed.
    pub seed: u64,
    /// Members.
    pub members: usize,
    /// Departments (root included).
    pub departments: usize,
    /// OA fans.
    pub fans: usize,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            members: 100,
            departments: 10,
            fans: 100,
        }
    }
}

impl std::str::FromStr for GenerateSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = GenerateSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {part:?}"))?;
            let n: u64 = v
                .trim()
                .replace('_', "")
                .parse()
                .map_err(|_| format!("{k}: not a number: {v:?}"))?;
            let as_usize = || usize::try_from(n).map_err(|_| format!("{k} too large"));
            match k.trim() {
                "seed" => spec.seed = n,
                "members" => spec.members = as_usize()?,
                "departments" => spec.departments = as_usize()?,
                "fans" => spec.fans = as_usize()?,
                other => {
                    return Err(format!(
                        "unknown key {other:?} (members, departments, fans, seed)"
                    ));
                }
            }
        }
        Ok(spec)
    }
}

impl Seed {
    /// Reads a seed file; `.json` is JSON, anything else TOML.
    pub fn from_file(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.to_owned(),
            source,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        }
    }

    /// Parses TOML.
    pub fn from_toml(text: &str) -> Result<Seed, SeedError> {
        Ok(toml::from_str(text)?)
    }

    /// Parses JSON.
    pub fn from_json(text: &str) -> Result<Seed, SeedError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Serializes as TOML.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// A small Chinese organisation: one corp (7 departments, 10 members, 2 apps, contacts
    /// secret read-write), one verified service account with 10 fans, one Mini Program.
    pub fn demo() -> Seed {
        let dept = |id, name: &str, parentid, order| Department {
            id,
            name: name.into(),
            parentid,
            order,
            ..Department::default()
        };
        let departments = vec![
            dept(1, "江南桥梁科技有限公司", 0, 100_000),
            dept(2, "研发中心", 1, 90_000),
            dept(3, "后端组", 2, 80_000),
            dept(4, "前端组", 2, 70_000),
            dept(5, "市场部", 1, 60_000),
            dept(6, "行政人事部", 1, 50_000),
            dept(7, "财务部", 1, 40_000),
        ];
        let people: [DemoPerson; 10] = [
            ("zhangsan", "张三", &[2], "研发总监", "1", 1, 1),
            ("lisi", "李四", &[3], "后端工程师", "1", 1, 1),
            ("wangwu", "王五", &[3], "后端工程师", "1", 1, 1),
            ("zhaoliu", "赵六", &[4], "前端工程师", "2", 1, 1),
            ("sunqi", "孙七", &[5], "市场经理", "2", 1, 1),
            ("zhouba", "周八", &[5, 6], "品牌专员", "1", 1, 4),
            ("wujiu", "吴九", &[6], "人事主管", "2", 1, 1),
            ("zhengshi", "郑十", &[7], "会计", "1", 1, 1),
            ("chenjing", "陈静", &[7, 2], "财务经理", "2", 1, 1),
            ("liuyang", "刘洋", &[3], "实习生", "1", 0, 2),
        ];
        let members = people
            .iter()
            .enumerate()
            .map(
                |(i, (userid, name, depts, position, gender, enable, status))| Member {
                    userid: (*userid).into(),
                    name: (*name).into(),
                    department: depts.to_vec(),
                    order: vec![0; depts.len()],
                    is_leader_in_dept: depts.iter().map(|_| u8::from(i == 0)).collect(),
                    main_department: depts[0],
                    position: (*position).into(),
                    mobile: format!("+86 1380013{:04}", 8000 + i),
                    gender: (*gender).into(),
                    email: format!("{userid}@jiangnan-bridge.example"),
                    enable: *enable,
                    status: *status,
                    ..Member::default()
                },
            )
            .collect();
        let corp = CorpSeed {
            corpid: "ww8f3a21c5d9e07b46".into(),
            name: "江南桥梁科技有限公司".into(),
            contacts: Some(ContactsSecret {
                secret: "contacts-9b1e5c7a3d2f40e8b6a1c3d5e7f90a2b4c6d8e0f1a".into(),
                access: ContactsAccess::ReadWrite,
                trusted_ips: Vec::new(),
            }),
            apps: vec![
                App {
                    agentid: 1_000_002,
                    secret: "app-notify-3c5e7a9b1d2f4068a0c2e4f6b8d0a1c3e5f7a9b".into(),
                    name: "通知助手".into(),
                    description: "业务系统通知".into(),
                    visible: Visibility {
                        departments: vec![1],
                        ..Visibility::default()
                    },
                    external_contact: true,
                    checkin: true,
                    ..App::default()
                },
                App {
                    agentid: 1_000_003,
                    secret: "app-devtools-7e9a1c3b5d7f90214e6a8c0b2d4f6a8c0e2b4d6".into(),
                    name: "研发工具".into(),
                    description: "研发中心内部工具".into(),
                    visible: Visibility {
                        departments: vec![2],
                        users: vec!["sunqi".into()],
                        ..Visibility::default()
                    },
                    ..App::default()
                },
            ],
            departments,
            members,
            tags: vec![CorpTag {
                tagid: 1,
                tagname: "值班".into(),
                users: vec!["lisi".into(), "zhaoliu".into()],
                parties: vec![],
            }],
            external_contacts: demo_customers(),
            checkins: Vec::new(),
            generate_checkins: true,
        };
        let nick = [
            "小明", "阿花", "老王", "Lily", "张伟", "王芳", "李娜", "刘强", "陈晨", "杨洋",
        ];
        let fans = nick
            .iter()
            .enumerate()
            .map(|(i, n)| Fan {
                openid: format!("oJqBd6{:022}", 1_000 + i),
                nickname: (*n).into(),
                subscribe: i != 9,
                subscribe_time: 1_690_000_000 + i as i64 * 86_400,
                unionid: (i % 2 == 0).then(|| format!("oU7xK2{:022}", 5_000 + i)),
                tagid_list: if i < 3 { vec![100] } else { vec![] },
                ..Fan::default()
            })
            .collect();
        let account = AccountSeed {
            appid: "wx3f9c2a7b1e5d8046".into(),
            secret: "6d1f8a3c5e7b9d2f4a6c8e0b1d3f5a7c".into(),
            name: "江南桥梁服务号".into(),
            original_id: "gh_5a7c9e1b3d4f".into(),
            kind: AccountKind::Service,
            verified: true,
            fans,
            tags: vec![OaTag { id: 100, name: "VIP客户".into() }],
            templates: vec![
                Template {
                    template_id: "tmpl-order-status-0001".into(),
                    title: "订单状态通知".into(),
                    content: "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n状态：{{keyword2.DATA}}\n{{remark.DATA}}".into(),
                },
                Template {
                    template_id: "tmpl-approval-0002".into(),
                    title: "审批结果通知".into(),
                    content: "审批事项：{{thing1.DATA}}\n结果：{{phrase2.DATA}}".into(),
                },
            ],
            subscribe_templates: vec![Template {
                template_id: "sub-delivery-0001".into(),
                title: "发货通知".into(),
                content: "商品：{{thing1.DATA}}\n时间：{{time2.DATA}}".into(),
            }],
            redirect_domains: Vec::new(),
            trusted_ips: Vec::new(),
        };
        let mp = MiniProgramSeed {
            appid: "wx7b2e4d6f8a0c1e39".into(),
            secret: "a1c3e5f7b9d0f2a4c6e8b0d2f4a6c8e0".into(),
            name: "桥梁小助手".into(),
            users: vec![
                MpUser {
                    openid: format!("oMp3x{:023}", 1),
                    unionid: Some(format!("oU7xK2{:022}", 5_000)),
                    nickname: "小明".into(),
                    phone: Some("13800138000".into()),
                },
                MpUser {
                    openid: format!("oMp3x{:023}", 2),
                    unionid: None,
                    nickname: "阿花".into(),
                    phone: None,
                },
            ],
            original_id: "gh_3b5d7f9a1c2e".into(),
            subscribe_templates: vec![Template {
                template_id: "mp-sub-order-0001".into(),
                title: "订单发货提醒".into(),
                content: "订单号：{{character_string1.DATA}}\n商品：{{thing2.DATA}}".into(),
            }],
            trusted_ips: Vec::new(),
        };
        let suite = SuiteSeed {
            suite_id: "wwsuite5e7a9c1b3d4f6a80".into(),
            suite_secret: "suite-secret-2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c0e2b4d6f8".into(),
            name: "桥梁云助手".into(),
            provider_corpid: "wwprov1a3c5e7b9d0f2a4c".into(),
            provider_secret: "provider-secret-8e0a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b0d2f4".into(),
            agentid: 1_000_100,
            token: "suiteToken".into(),
            encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C".into(),
            ..SuiteSeed::default()
        };
        Seed {
            official_accounts: vec![account],
            corps: vec![corp],
            mini_programs: vec![mp],
            suites: vec![suite],
            callbacks: Vec::new(),
        }
    }

    /// A deterministic large world: one corp with `members` members in `departments`
    /// departments (tree depth ≤ 15), an app seeing everything (agentid 1000002), a read-write
    /// contacts secret; one OA with `fans` fans; one Mini Program. Same `seed`, same world.
    pub fn generated(seed: u64, members: usize, departments: usize, fans: usize) -> Seed {
        let mut rng = SplitMix64(seed);
        let corpid = format!("ww{}", rng.hex(16));
        let departments = departments.max(1);
        let mut depts = Vec::with_capacity(departments);
        // depth[id] for id in 1..=departments (index 0 unused).
        let mut depth = vec![0u8; departments + 1];
        depth[1] = 1;
        depts.push(Department {
            id: 1,
            name: "华东联合集团".into(),
            order: 100_000_000,
            ..Department::default()
        });
        let mut eligible: Vec<u32> = vec![1];
        for id in 2..=departments {
            let parent = eligible[rng.below(eligible.len())];
            let d = depth[parent as usize] + 1;
            depth[id] = d;
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            if usize::from(d) < crate::state::directory::MAX_DEPTH {
                eligible.push(id);
            }
            depts.push(Department {
                id,
                name: format!("{}{}", DEPT_NAMES[rng.below(DEPT_NAMES.len())], id),
                parentid: parent,
                order: u32::try_from(rng.below(100_000)).unwrap_or(0),
                ..Department::default()
            });
        }
        let mut people = Vec::with_capacity(members);
        for i in 0..members {
            let (sur_py, sur) = SURNAMES[rng.below(SURNAMES.len())];
            let (giv_py, giv) = GIVEN[rng.below(GIVEN.len())];
            let userid = format!("{sur_py}{giv_py}{i:06}");
            let first = u32::try_from(1 + rng.below(departments)).unwrap_or(1);
            let mut department = vec![first];
            if departments > 1 && rng.below(10) == 0 {
                let second = u32::try_from(1 + rng.below(departments)).unwrap_or(1);
                if second != first {
                    department.push(second);
                }
            }
            let roll = rng.below(100);
            let (enable, status) = match roll {
                0 => (0, 2),
                1 | 2 => (1, 4),
                _ => (1, 1),
            };
            people.push(Member {
                name: format!("{sur}{giv}"),
                order: vec![0; department.len()],
                is_leader_in_dept: vec![0; department.len()],
                main_department: first,
                department,
                position: POSITIONS[rng.below(POSITIONS.len())].into(),
                mobile: format!("+86 13{:09}", i),
                gender: if rng.below(2) == 0 { "1" } else { "2" }.into(),
                email: format!("{userid}@corp.example"),
                enable,
                status,
                userid,
                ..Member::default()
            });
        }
        let corp = CorpSeed {
            corpid,
            name: "华东联合集团".into(),
            contacts: Some(ContactsSecret {
                secret: rng.alnum(43),
                access: ContactsAccess::ReadWrite,
                trusted_ips: Vec::new(),
            }),
            apps: vec![App {
                agentid: 1_000_002,
                secret: rng.alnum(43),
                name: "集团通知".into(),
                visible: Visibility {
                    departments: vec![1],
                    ..Visibility::default()
                },
                ..App::default()
            }],
            departments: depts,
            members: people,
            tags: Vec::new(),
            ..CorpSeed::default()
        };
        let fan_list = (0..fans)
            .map(|i| Fan {
                openid: format!("o{}{}", base62(i as u64, 6), rng.alnum(21)),
                nickname: GIVEN[rng.below(GIVEN.len())].1.into(),
                subscribe_time: 1_600_000_000 + i as i64 * 37,
                unionid: (rng.below(2) == 0)
                    .then(|| format!("oU{}{}", base62(i as u64, 6), rng.alnum(20))),
                ..Fan::default()
            })
            .collect();
        let account = AccountSeed {
            appid: format!("wx{}", rng.hex(16)),
            secret: rng.hex(32),
            name: "华东联合服务号".into(),
            original_id: format!("gh_{}", rng.hex(12)),
            kind: AccountKind::Service,
            verified: true,
            fans: fan_list,
            tags: Vec::new(),
            templates: vec![Template {
                template_id: "tmpl-generic-0001".into(),
                title: "通用通知".into(),
                content: "{{first.DATA}}\n{{keyword1.DATA}}\n{{remark.DATA}}".into(),
            }],
            ..AccountSeed::default()
        };
        let mp = MiniProgramSeed {
            appid: format!("wx{}", rng.hex(16)),
            secret: rng.hex(32),
            name: "华东联合小程序".into(),
            users: Vec::new(),
            ..MiniProgramSeed::default()
        };
        Seed {
            official_accounts: vec![account],
            corps: vec![corp],
            mini_programs: vec![mp],
            suites: Vec::new(),
            callbacks: Vec::new(),
        }
    }

    /// [`Seed::generated`] from a parsed spec.
    pub fn from_spec(spec: GenerateSpec) -> Seed {
        Self::generated(spec.seed, spec.members, spec.departments, spec.fans)
    }
}

/// Three customers of the demo corp, followed by sales and support members.
fn demo_customers() -> Vec<ExternalContact> {
    let follow = |userid: &str, remark: &str, createtime: i64, add_way: u32| FollowUser {
        userid: userid.into(),
        remark: remark.into(),
        createtime,
        add_way,
        ..FollowUser::default()
    };
    vec![
        ExternalContact {
            external_userid: "wmJqBd6AAAAAAAAAAAAAAAAAAAAAA001".into(),
            name: "王总".into(),
            corp_name: "华东建材有限公司".into(),
            kind: 1,
            gender: 1,
            unionid: Some(format!("oU7xK2{:022}", 5_000)),
            follow_user: vec![
                follow("sunqi", "华东建材-王总", 1_690_000_000, 1),
                follow("zhouba", "", 1_690_086_400, 2),
            ],
            ..ExternalContact::default()
        },
        ExternalContact {
            external_userid: "wmJqBd6AAAAAAAAAAAAAAAAAAAAAA002".into(),
            name: "李女士".into(),
            kind: 1,
            gender: 2,
            follow_user: vec![follow("sunqi", "老客户", 1_691_000_000, 3)],
            ..ExternalContact::default()
        },
        ExternalContact {
            external_userid: "wmJqBd6AAAAAAAAAAAAAAAAAAAAAA003".into(),
            name: "赵工".into(),
            corp_name: "长江设计院".into(),
            kind: 2,
            gender: 1,
            follow_user: vec![follow("zhangsan", "设计院对接人", 1_692_000_000, 201)],
            ..ExternalContact::default()
        },
    ]
}

/// userid, name, departments, position, gender, enable, status.
type DemoPerson = (
    &'static str,
    &'static str,
    &'static [u32],
    &'static str,
    &'static str,
    u8,
    u8,
);

const DEPT_NAMES: &[&str] = &[
    "研发部",
    "产品部",
    "市场部",
    "销售部",
    "财务部",
    "人力资源部",
    "行政部",
    "法务部",
    "客服部",
    "运营部",
    "采购部",
    "质量部",
    "工程部",
    "物流部",
    "信息部",
    "战略部",
    "审计部",
    "设计部",
];
const SURNAMES: &[(&str, &str)] = &[
    ("wang", "王"),
    ("li", "李"),
    ("zhang", "张"),
    ("liu", "刘"),
    ("chen", "陈"),
    ("yang", "杨"),
    ("huang", "黄"),
    ("zhao", "赵"),
    ("wu", "吴"),
    ("zhou", "周"),
    ("xu", "徐"),
    ("sun", "孙"),
    ("ma", "马"),
    ("zhu", "朱"),
    ("hu", "胡"),
    ("guo", "郭"),
    ("he", "何"),
    ("lin", "林"),
];
const GIVEN: &[(&str, &str)] = &[
    ("wei", "伟"),
    ("fang", "芳"),
    ("na", "娜"),
    ("min", "敏"),
    ("jing", "静"),
    ("li", "丽"),
    ("qiang", "强"),
    ("lei", "磊"),
    ("jun", "军"),
    ("yang", "洋"),
    ("yong", "勇"),
    ("yan", "艳"),
    ("jie", "杰"),
    ("juan", "娟"),
    ("tao", "涛"),
    ("ming", "明"),
    ("chao", "超"),
    ("xiulan", "秀兰"),
];
const POSITIONS: &[&str] = &[
    "工程师",
    "高级工程师",
    "经理",
    "主管",
    "专员",
    "助理",
    "总监",
    "顾问",
    "分析师",
    "设计师",
];

fn base62(mut n: u64, width: usize) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = A[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// SplitMix64: tiny, fast, and stable across versions (unlike `StdRng`), so generated worlds
/// are reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }

    fn hex(&mut self, len: usize) -> String {
        self.pick(b"0123456789abcdef", len)
    }

    fn alnum(&mut self, len: usize) -> String {
        self.pick(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            len,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::World;

    #[test]
    fn demo_round_trips_through_toml_and_json() {
        let demo = Seed::demo();
        let toml = demo.to_toml().unwrap();
        assert_eq!(Seed::from_toml(&toml).unwrap(), demo);
        let json = serde_json::to_string(&demo).unwrap();
        assert_eq!(Seed::from_json(&json).unwrap(), demo);
        World::from_seed(demo).unwrap();
    }

    #[test]
    fn generated_is_deterministic_and_valid() {
        let a = Seed::generated(7, 2_000, 300, 50);
        assert_eq!(a, Seed::generated(7, 2_000, 300, 50));
        assert_ne!(a, Seed::generated(8, 2_000, 300, 50));
        let corp = &a.corps[0];
        assert_eq!(corp.members.len(), 2_000);
        assert_eq!(corp.departments.len(), 300);
        let world = World::from_seed(a).unwrap();
        let dir = &world.corps.values().next().unwrap().directory;
        assert!(dir.departments().all(|d| dir.depth(d.id) <= 15));
    }

    #[test]
    fn generated_large_is_fast_and_shallow() {
        let start = std::time::Instant::now();
        let seed = Seed::generated(42, 100_000, 5_000, 1_000);
        let world = World::from_seed(seed).unwrap();
        let elapsed = start.elapsed();
        let dir = &world.corps.values().next().unwrap().directory;
        assert_eq!(dir.member_count(), 100_000);
        assert_eq!(dir.department_count(), 5_000);
        let max_depth = dir.departments().map(|d| dir.depth(d.id)).max().unwrap();
        assert!(max_depth <= 15);
        // Generous bound for unoptimised test builds; release figure is in the README.
        assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
    }

    #[test]
    fn readme_seed_example_loads() {
        let readme = include_str!("../README.md");
        let start = readme.find("```toml\n").unwrap() + 8;
        let len = readme[start..].find("```").unwrap();
        let seed = Seed::from_toml(&readme[start..start + len]).unwrap();
        assert_eq!(seed.corps[0].members[0].department, vec![2]);
        World::from_seed(seed).unwrap();
    }

    #[test]
    fn spec_parsing() {
        let s: GenerateSpec = "members=100_000, departments=5000,seed=3".parse().unwrap();
        assert_eq!(
            (s.members, s.departments, s.seed, s.fans),
            (100_000, 5_000, 3, 100)
        );
        assert!("members=x".parse::<GenerateSpec>().is_err());
        assert!("colour=1".parse::<GenerateSpec>().is_err());
    }
}

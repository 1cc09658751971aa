//! Typed views of WeCom-specific events: template-card clicks (reference §4.11.3), contact
//! and external-contact changes, approvals and batch jobs (§4.12), which third-party suites
//! also receive on their command URL with an extra `AuthCorpId` (§5.4).
//!
//! Contact-change payloads carry only the fields that changed (`update_user`) and omit
//! sensitive ones the app may not read, so every field is an `Option`.

use super::kinds::int;
use super::xml::Element;

/// One `SelectedItems/SelectedItem` of a template-card event (vote, multiple choice,
/// button selection).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedItem<'a> {
    /// `QuestionKey` of the selector.
    pub question_key: Option<&'a str>,
    /// `OptionIds/OptionId`, one per chosen option.
    pub option_ids: Vec<&'a str>,
}

/// `template_card_event` (button/submit clicked) and `template_card_menu_event`
/// (action-menu item clicked).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateCardEvent<'a> {
    /// `true` for `template_card_menu_event`.
    pub menu: bool,
    /// Button key, submit key or menu action key.
    pub event_key: Option<&'a str>,
    /// `TaskId` of the card.
    pub task_id: Option<&'a str>,
    /// `CardType`, e.g. `button_interaction`.
    pub card_type: Option<&'a str>,
    /// `ResponseCode`: single use, valid 72 h, for updating the card (§4.11.3).
    pub response_code: Option<&'a str>,
    /// Selections, when the card has selectors.
    pub selected_items: Vec<SelectedItem<'a>>,
}

impl<'a> TemplateCardEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>, menu: bool) -> Self {
        let selected_items = r
            .child("SelectedItems")
            .map(|s| {
                s.children_named("SelectedItem")
                    .map(|it| SelectedItem {
                        question_key: it.get("QuestionKey"),
                        option_ids: it
                            .child("OptionIds")
                            .map(|o| o.children_named("OptionId").map(|x| x.text()).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        TemplateCardEvent {
            menu,
            event_key: r.get("EventKey"),
            task_id: r.get("TaskId"),
            card_type: r.get("CardType"),
            response_code: r.get("ResponseCode"),
            selected_items,
        }
    }
}

/// Legacy `taskcard_click` event.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCardClickEvent<'a> {
    /// Button key.
    pub event_key: Option<&'a str>,
    /// Task id.
    pub task_id: Option<&'a str>,
}

impl<'a> TaskCardClickEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        TaskCardClickEvent {
            event_key: r.get("EventKey"),
            task_id: r.get("TaskId"),
        }
    }
}

/// `batch_job_result`: an asynchronous contacts import finished.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJobResultEvent<'a> {
    /// `BatchJob/JobId`.
    pub job_id: Option<&'a str>,
    /// `sync_user`, `replace_user`, `invite_user`, `replace_party`.
    pub job_type: Option<&'a str>,
    /// `ErrCode` (0 = success).
    pub err_code: Option<i64>,
    /// `ErrMsg`.
    pub err_msg: Option<&'a str>,
    /// `AuthCorpId` when received on a suite command URL.
    pub auth_corp_id: Option<&'a str>,
}

impl<'a> BatchJobResultEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        // Documented nested under `BatchJob`; fall back to top level to be tolerant.
        let job = r.child("BatchJob").unwrap_or(*r);
        BatchJobResultEvent {
            job_id: job.get("JobId"),
            job_type: job.get("JobType"),
            err_code: int(&job, "ErrCode"),
            err_msg: job.get("ErrMsg"),
            auth_corp_id: r.get("AuthCorpId"),
        }
    }
}

/// One `ExtAttr/Item` of a member (custom profile attribute).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtAttrItem<'a> {
    /// Attribute name.
    pub name: Option<&'a str>,
    /// `0` text, `1` web.
    pub attr_type: Option<&'a str>,
    /// `Text/Value` (text attributes).
    pub text: Option<&'a str>,
    /// `Web/Title` (web attributes).
    pub web_title: Option<&'a str>,
    /// `Web/Url` (web attributes).
    pub web_url: Option<&'a str>,
}

/// Member fields of `create_user` / `update_user` / `delete_user` (§4.12). Only the fields
/// present in the payload are `Some`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserChange<'a> {
    /// `UserID`.
    pub user_id: Option<&'a str>,
    /// `NewUserID`: the new id when the userid was changed (`update_user`).
    pub new_user_id: Option<&'a str>,
    /// `OpenUserID` (suites).
    pub open_user_id: Option<&'a str>,
    /// `Name`.
    pub name: Option<&'a str>,
    /// `Department`: comma-separated department ids; see [`UserChange::departments`].
    pub department: Option<&'a str>,
    /// `MainDepartment`.
    pub main_department: Option<&'a str>,
    /// `IsLeaderInDept`: comma-separated 0/1, parallel to `Department`.
    pub is_leader_in_dept: Option<&'a str>,
    /// `DirectLeader`: comma-separated userids.
    pub direct_leader: Option<&'a str>,
    /// `Position`.
    pub position: Option<&'a str>,
    /// `Mobile` (sensitive; often absent).
    pub mobile: Option<&'a str>,
    /// `Gender`: 1 male, 2 female.
    pub gender: Option<&'a str>,
    /// `Email` (sensitive).
    pub email: Option<&'a str>,
    /// `BizMail`.
    pub biz_mail: Option<&'a str>,
    /// `Status`: 1 active, 2 disabled, 4 not yet joined, 5 quit.
    pub status: Option<&'a str>,
    /// `Avatar` URL (sensitive).
    pub avatar: Option<&'a str>,
    /// `Alias`.
    pub alias: Option<&'a str>,
    /// `Telephone`.
    pub telephone: Option<&'a str>,
    /// `Address`.
    pub address: Option<&'a str>,
    /// `ExtAttr/Item` entries.
    pub ext_attr: Vec<ExtAttrItem<'a>>,
}

/// Splits a WeCom comma-separated list (`"1,2,3"`), skipping empty items.
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty())
}

impl<'a> UserChange<'a> {
    fn from_root(r: &Element<'a>) -> Self {
        let ext_attr = r
            .child("ExtAttr")
            .map(|x| {
                x.children_named("Item")
                    .map(|it| ExtAttrItem {
                        name: it.get("Name"),
                        attr_type: it.get("Type"),
                        text: it.find(&["Text", "Value"]).map(|e| e.text()),
                        web_title: it.find(&["Web", "Title"]).map(|e| e.text()),
                        web_url: it.find(&["Web", "Url"]).map(|e| e.text()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        UserChange {
            user_id: r.get("UserID"),
            new_user_id: r.get("NewUserID"),
            open_user_id: r.get("OpenUserID"),
            name: r.get("Name"),
            department: r.get("Department"),
            main_department: r.get("MainDepartment"),
            is_leader_in_dept: r.get("IsLeaderInDept"),
            direct_leader: r.get("DirectLeader"),
            position: r.get("Position"),
            mobile: r.get("Mobile"),
            gender: r.get("Gender"),
            email: r.get("Email"),
            biz_mail: r.get("BizMail"),
            status: r.get("Status"),
            avatar: r.get("Avatar"),
            alias: r.get("Alias"),
            telephone: r.get("Telephone"),
            address: r.get("Address"),
            ext_attr,
        }
    }

    /// Department ids from `Department`.
    pub fn departments(&self) -> impl Iterator<Item = &'a str> {
        self.department.into_iter().flat_map(split_list)
    }
}

/// Department fields of `create_party` / `update_party` / `delete_party`.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyChange<'a> {
    /// `Id`.
    pub id: Option<&'a str>,
    /// `Name`.
    pub name: Option<&'a str>,
    /// `ParentId`.
    pub parent_id: Option<&'a str>,
    /// `Order`.
    pub order: Option<&'a str>,
}

/// Fields of `update_tag` (member/department lists are comma-separated; see [`split_list`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TagChange<'a> {
    /// `TagId`.
    pub tag_id: Option<&'a str>,
    /// `AddUserItems`.
    pub add_user_items: Option<&'a str>,
    /// `DelUserItems`.
    pub del_user_items: Option<&'a str>,
    /// `AddPartyItems`.
    pub add_party_items: Option<&'a str>,
    /// `DelPartyItems`.
    pub del_party_items: Option<&'a str>,
}

/// The `ChangeType` of a `change_contact` event with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactChange<'a> {
    /// `create_user`.
    CreateUser(UserChange<'a>),
    /// `update_user` (only changed fields present).
    UpdateUser(UserChange<'a>),
    /// `delete_user` (`UserID`, and `OpenUserID` for suites).
    DeleteUser(UserChange<'a>),
    /// `create_party`.
    CreateParty(PartyChange<'a>),
    /// `update_party`.
    UpdateParty(PartyChange<'a>),
    /// `delete_party`.
    DeleteParty(PartyChange<'a>),
    /// `update_tag`.
    UpdateTag(TagChange<'a>),
    /// Any other `ChangeType` (raw fields in the message document).
    Other(&'a str),
}

/// `change_contact` (app callback, `FromUserName` = `sys`) or suite `InfoType` `change_contact`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactChangeEvent<'a> {
    /// `AuthCorpId` when received on a suite command URL.
    pub auth_corp_id: Option<&'a str>,
    /// The change.
    pub change: ContactChange<'a>,
}

impl<'a> ContactChangeEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        let party = || PartyChange {
            id: r.get("Id"),
            name: r.get("Name"),
            parent_id: r.get("ParentId"),
            order: r.get("Order"),
        };
        let change = match r.get("ChangeType").unwrap_or("") {
            "create_user" => ContactChange::CreateUser(UserChange::from_root(r)),
            "update_user" => ContactChange::UpdateUser(UserChange::from_root(r)),
            "delete_user" => ContactChange::DeleteUser(UserChange::from_root(r)),
            "create_party" => ContactChange::CreateParty(party()),
            "update_party" => ContactChange::UpdateParty(party()),
            "delete_party" => ContactChange::DeleteParty(party()),
            "update_tag" => ContactChange::UpdateTag(TagChange {
                tag_id: r.get("TagId"),
                add_user_items: r.get("AddUserItems"),
                del_user_items: r.get("DelUserItems"),
                add_party_items: r.get("AddPartyItems"),
                del_party_items: r.get("DelPartyItems"),
            }),
            other => ContactChange::Other(other),
        };
        ContactChangeEvent {
            auth_corp_id: r.get("AuthCorpId"),
            change,
        }
    }
}

/// `ChangeType` of `change_external_contact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalContactChange<'a> {
    /// `add_external_contact`: a member added a customer.
    AddExternalContact,
    /// `add_half_external_contact`: customer added without verification, not yet accepted.
    AddHalfExternalContact,
    /// `edit_external_contact`.
    EditExternalContact,
    /// `del_external_contact`: the member deleted the customer.
    DelExternalContact,
    /// `del_follow_user`: the customer deleted the member.
    DelFollowUser,
    /// `transfer_fail`: a customer transfer failed.
    TransferFail,
    /// `msg_audit_approved`: the customer agreed to chat archiving.
    MsgAuditApproved,
    /// Any other value.
    Other(&'a str),
}

/// `change_external_contact` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalContactEvent<'a> {
    /// The change type.
    pub change: ExternalContactChange<'a>,
    /// `UserID`: the member.
    pub user_id: Option<&'a str>,
    /// `ExternalUserID`: the customer.
    pub external_user_id: Option<&'a str>,
    /// `State` (from the contact-way configuration).
    pub state: Option<&'a str>,
    /// `WelcomeCode`: send a welcome message within ~20 s.
    pub welcome_code: Option<&'a str>,
    /// `Source` (`DELETE_BY_TRANSFER`).
    pub source: Option<&'a str>,
    /// `FailReason` (`customer_refused`, `customer_limit_exceed`).
    pub fail_reason: Option<&'a str>,
    /// `AuthCorpId` when received on a suite command URL.
    pub auth_corp_id: Option<&'a str>,
}

impl<'a> ExternalContactEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        let change = match r.get("ChangeType").unwrap_or("") {
            "add_external_contact" => ExternalContactChange::AddExternalContact,
            "add_half_external_contact" => ExternalContactChange::AddHalfExternalContact,
            "edit_external_contact" => ExternalContactChange::EditExternalContact,
            "del_external_contact" => ExternalContactChange::DelExternalContact,
            "del_follow_user" => ExternalContactChange::DelFollowUser,
            "transfer_fail" => ExternalContactChange::TransferFail,
            "msg_audit_approved" => ExternalContactChange::MsgAuditApproved,
            other => ExternalContactChange::Other(other),
        };
        ExternalContactEvent {
            change,
            user_id: r.get("UserID"),
            external_user_id: r.get("ExternalUserID"),
            state: r.get("State"),
            welcome_code: r.get("WelcomeCode"),
            source: r.get("Source"),
            fail_reason: r.get("FailReason"),
            auth_corp_id: r.get("AuthCorpId"),
        }
    }
}

/// `change_external_chat` event (customer group chats).
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalChatEvent<'a> {
    /// `ChatId`.
    pub chat_id: Option<&'a str>,
    /// `create`, `update`, `dismiss`.
    pub change_type: Option<&'a str>,
    /// `add_member`, `del_member`, `change_owner`, `change_name`, `change_notice`.
    pub update_detail: Option<&'a str>,
    /// `JoinScene`.
    pub join_scene: Option<i64>,
    /// `QuitScene`.
    pub quit_scene: Option<i64>,
    /// `MemChangeCnt`.
    pub mem_change_cnt: Option<i64>,
    /// `AuthCorpId` when received on a suite command URL.
    pub auth_corp_id: Option<&'a str>,
}

impl<'a> ExternalChatEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        ExternalChatEvent {
            chat_id: r.get("ChatId"),
            change_type: r.get("ChangeType"),
            update_detail: r.get("UpdateDetail"),
            join_scene: int(r, "JoinScene"),
            quit_scene: int(r, "QuitScene"),
            mem_change_cnt: int(r, "MemChangeCnt"),
            auth_corp_id: r.get("AuthCorpId"),
        }
    }
}

/// `change_external_tag` event (customer tags).
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalTagEvent<'a> {
    /// `Id` of the tag or tag group.
    pub id: Option<&'a str>,
    /// `tag` or `tag_group`.
    pub tag_type: Option<&'a str>,
    /// `create`, `update`, `delete`, `shuffle`.
    pub change_type: Option<&'a str>,
    /// `StrategyId` (rule-group tags).
    pub strategy_id: Option<&'a str>,
    /// `AuthCorpId` when received on a suite command URL.
    pub auth_corp_id: Option<&'a str>,
}

impl<'a> ExternalTagEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        ExternalTagEvent {
            id: r.get("Id"),
            tag_type: r.get("TagType"),
            change_type: r.get("ChangeType"),
            strategy_id: r.get("StrategyId"),
            auth_corp_id: r.get("AuthCorpId"),
        }
    }
}

/// One approver action inside an `SpRecord/Details`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalDetail<'a> {
    /// `Approver/UserId`.
    pub approver: Option<&'a str>,
    /// `Speech`: the approver's comment.
    pub speech: Option<&'a str>,
    /// `SpStatus` of this approver.
    pub sp_status: Option<i64>,
    /// `SpTime` (Unix seconds, 0 while pending).
    pub sp_time: Option<i64>,
}

/// One approval step (`SpRecord`, repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRecord<'a> {
    /// `SpStatus` of the step.
    pub sp_status: Option<i64>,
    /// `ApproverAttr`: 1 or-sign, 2 and-sign.
    pub approver_attr: Option<i64>,
    /// `Details`, one per approver.
    pub details: Vec<ApprovalDetail<'a>>,
}

/// `sys_approval_change` event (`ApprovalInfo{…}`, §4.12).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalChangeEvent<'a> {
    /// `SpNo`: approval number.
    pub sp_no: Option<&'a str>,
    /// `SpName`: template name.
    pub sp_name: Option<&'a str>,
    /// `SpStatus`: 1 pending, 2 approved, 3 rejected, 4 revoked, 6 revoked after approval,
    /// 7 deleted, 10 paid.
    pub sp_status: Option<i64>,
    /// `TemplateId`.
    pub template_id: Option<&'a str>,
    /// `ApplyTime` (Unix seconds).
    pub apply_time: Option<i64>,
    /// `Applyer/UserId`.
    pub applyer: Option<&'a str>,
    /// `Applyer/Party`.
    pub applyer_party: Option<&'a str>,
    /// `StatuChangeEvent` (sic): what happened (1 submitted, 2 approved, 3 rejected, …).
    pub statu_change_event: Option<i64>,
    /// Approval steps.
    pub records: Vec<ApprovalRecord<'a>>,
    /// `Notifyer/UserId`, one per notified member.
    pub notifyers: Vec<&'a str>,
}

impl<'a> ApprovalChangeEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        let Some(info) = r.child("ApprovalInfo") else {
            return ApprovalChangeEvent {
                sp_no: None,
                sp_name: None,
                sp_status: None,
                template_id: None,
                apply_time: None,
                applyer: None,
                applyer_party: None,
                statu_change_event: None,
                records: Vec::new(),
                notifyers: Vec::new(),
            };
        };
        let records = info
            .children_named("SpRecord")
            .map(|rec| ApprovalRecord {
                sp_status: int(&rec, "SpStatus"),
                approver_attr: int(&rec, "ApproverAttr"),
                details: rec
                    .children_named("Details")
                    .map(|d| ApprovalDetail {
                        approver: d.find(&["Approver", "UserId"]).map(|e| e.text()),
                        speech: d.get("Speech"),
                        sp_status: int(&d, "SpStatus"),
                        sp_time: int(&d, "SpTime"),
                    })
                    .collect(),
            })
            .collect();
        ApprovalChangeEvent {
            sp_no: info.get("SpNo"),
            sp_name: info.get("SpName"),
            sp_status: int(&info, "SpStatus"),
            template_id: info.get("TemplateId"),
            apply_time: int(&info, "ApplyTime"),
            applyer: info.find(&["Applyer", "UserId"]).map(|e| e.text()),
            applyer_party: info.find(&["Applyer", "Party"]).map(|e| e.text()),
            statu_change_event: int(&info, "StatuChangeEvent"),
            records,
            notifyers: info
                .children_named("Notifyer")
                .filter_map(|n| n.get("UserId"))
                .collect(),
        }
    }
}

/// `kf_msg_or_event` (WeChat customer service inside WeCom): new messages are waiting; fetch
/// them with `kf/sync_msg` using `Token`.
#[derive(Debug, Clone, PartialEq)]
pub struct KfMsgOrEvent<'a> {
    /// `Token` for `kf/sync_msg` (short-lived).
    pub token: Option<&'a str>,
    /// `OpenKfId`: the customer-service account.
    pub open_kf_id: Option<&'a str>,
}

impl<'a> KfMsgOrEvent<'a> {
    pub(crate) fn from_root(r: &Element<'a>) -> Self {
        KfMsgOrEvent {
            token: r.get("Token"),
            open_kf_id: r.get("OpenKfId"),
        }
    }
}

//! Who may do what: admin users (console and CLI), their passwords and roles, and API keys.

pub mod api_keys;
pub mod password;
pub mod users;

use serde::{Deserialize, Serialize};

/// Console roles. A super admin manages admin users; an admin configures everything else; an
/// auditor reads everything and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::SuperAdmin, Role::Admin, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// May change configuration.
    pub fn can_write(self) -> bool {
        matches!(self, Role::SuperAdmin | Role::Admin)
    }

    /// May manage admin users and API keys.
    pub fn can_manage_access(self) -> bool {
        matches!(self, Role::SuperAdmin)
    }
}

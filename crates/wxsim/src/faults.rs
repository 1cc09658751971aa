//! Fault injection: per endpoint and per credential, answer an errcode, an HTTP status or add
//! latency, a number of times, forever, or for a while (simulator time).

use serde::{Deserialize, Serialize};

use crate::role::Role;

/// True when a call made with `actual` falls under a rule naming `wanted`: equal, or `wanted`
/// is the corp part of `corpid/secret`.
pub fn credential_matches(wanted: &str, actual: &str) -> bool {
    actual == wanted
        || actual
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// How many times a fault fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Times {
    /// This many calls.
    Count(u64),
    /// `"forever"`.
    Forever(String),
}

/// A fault as posted to `POST /sim/faults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSpec {
    /// Endpoint path without role prefix (`/cgi-bin/gettoken`), or `*` for every endpoint.
    pub path: String,
    /// Only on this role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Only for this credential (`appid`, `corpid`, `corpid/<agentid>`, `corpid/contacts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Answer this errcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    /// With this errmsg (default: the usual one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errmsg: Option<String>,
    /// Answer this HTTP status instead (takes precedence over errcode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Delay the answer by this many milliseconds (real time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Close the connection without an answer (after any delay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_connection: Option<bool>,
    /// A count, or `"forever"` (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<Times>,
    /// Active for this many simulator seconds from creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<i64>,
}

impl FaultSpec {
    /// A fault answering `errcode` forever on `path` (`*` = all).
    pub fn errcode(path: &str, errcode: i64) -> Self {
        Self {
            path: path.into(),
            errcode: Some(errcode),
            ..Self::default()
        }
    }

    /// Restricts to a credential.
    pub fn for_credential(mut self, credential: &str) -> Self {
        self.credential = Some(credential.into());
        self
    }

    /// Fires `n` times only.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(Times::Count(n));
        self
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(Times::Forever(w)) = &self.times
            && w != "forever"
        {
            return Err(format!("times must be a number or \"forever\", not {w:?}"));
        }
        if let Some(s) = self.http_status
            && !(100..=599).contains(&s)
        {
            return Err(format!("http_status {s} is not an HTTP status"));
        }
        if self.errcode.is_none()
            && self.http_status.is_none()
            && self.delay_ms.is_none()
            && self.drop_connection != Some(true)
        {
            return Err("a fault needs errcode, http_status, delay_ms or drop_connection".into());
        }
        Ok(())
    }
}

/// An installed fault.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// Id for `DELETE /sim/faults/{id}`.
    pub id: u64,
    /// What was asked.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Remaining firings (`None` = unlimited).
    pub remaining: Option<u64>,
    /// Expiry (simulator time).
    pub expires_at: Option<i64>,
    /// How many calls it affected.
    pub hits: u64,
}

/// The effect of the faults on one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultHit {
    /// Total delay to apply.
    pub delay_ms: u64,
    /// HTTP status to answer.
    pub http_status: Option<u16>,
    /// Errcode (and errmsg) to answer.
    pub errcode: Option<(i64, Option<String>)>,
    /// Close the connection without an answer.
    pub drop_connection: bool,
}

/// All installed faults.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
    next_id: u64,
}

impl Faults {
    /// Installs a fault; returns its id.
    pub fn add(&mut self, mut spec: FaultSpec, now: i64) -> Result<u64, String> {
        if spec.path.is_empty() {
            spec.path = "*".into();
        }
        spec.validate()?;
        self.next_id += 1;
        let remaining = match &spec.times {
            Some(Times::Count(n)) => Some(*n),
            _ => None,
        };
        let expires_at = spec.for_secs.map(|s| now.saturating_add(s));
        self.rules.push(Fault {
            id: self.next_id,
            spec,
            remaining,
            expires_at,
            hits: 0,
        });
        Ok(self.next_id)
    }

    /// Removes one fault.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|f| f.id != id);
        before != self.rules.len()
    }

    /// Removes all faults.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Installed faults (spent ones included until cleared).
    pub fn list(&self) -> &[Fault] {
        &self.rules
    }

    /// Consumes the faults matching a call. Every matching rule adds its delay; the first one
    /// with an HTTP status or errcode decides the answer.
    pub fn apply(
        &mut self,
        role: Role,
        path: &str,
        credential: Option<&str>,
        now: i64,
    ) -> FaultHit {
        let mut hit = FaultHit::default();
        for f in &mut self.rules {
            let s = &f.spec;
            let active = f.remaining != Some(0) && f.expires_at.is_none_or(|t| now < t);
            let path_ok = s.path == "*" || s.path == path;
            let role_ok = s.role.is_none_or(|r| r == role);
            let cred_ok = match (&s.credential, credential) {
                (None, _) => true,
                (Some(want), Some(got)) => credential_matches(want, got),
                (Some(_), None) => false,
            };
            if !(active && path_ok && role_ok && cred_ok) {
                continue;
            }
            let drops = s.drop_connection == Some(true);
            let decides = s.http_status.is_some() || s.errcode.is_some() || drops;
            if decides
                && (hit.http_status.is_some() || hit.errcode.is_some() || hit.drop_connection)
            {
                continue;
            }
            f.hits += 1;
            if let Some(r) = f.remaining.as_mut() {
                *r -= 1;
            }
            hit.delay_ms += s.delay_ms.unwrap_or(0);
            if drops {
                hit.drop_connection = true;
            } else if let Some(status) = s.http_status {
                hit.http_status = Some(status);
            } else if let Some(code) = s.errcode {
                hit.errcode = Some((code, s.errmsg.clone()));
            }
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_counting() {
        let mut f = Faults::default();
        f.add(
            FaultSpec::errcode("/cgi-bin/gettoken", 45009)
                .for_credential("ww1")
                .times(2),
            0,
        )
        .unwrap();
        f.add(
            FaultSpec {
                path: "*".into(),
                delay_ms: Some(5),
                ..Default::default()
            },
            0,
        )
        .unwrap();
        let hit = f.apply(Role::Qyapi, "/cgi-bin/gettoken", Some("ww1/1000002"), 0);
        assert_eq!(hit.errcode, Some((45009, None)));
        assert_eq!(hit.delay_ms, 5);
        assert_eq!(
            f.apply(Role::Qyapi, "/cgi-bin/gettoken", Some("ww2/1"), 0)
                .errcode,
            None
        );
        assert!(
            f.apply(Role::Qyapi, "/cgi-bin/gettoken", Some("ww1/contacts"), 0)
                .errcode
                .is_some()
        );
        assert_eq!(
            f.apply(Role::Qyapi, "/cgi-bin/gettoken", Some("ww1/contacts"), 0)
                .errcode,
            None,
            "spent after 2"
        );
        assert!(
            f.add(
                FaultSpec {
                    path: "*".into(),
                    ..Default::default()
                },
                0
            )
            .is_err()
        );
    }

    #[test]
    fn for_secs_expires() {
        let mut f = Faults::default();
        f.add(
            FaultSpec {
                for_secs: Some(60),
                ..FaultSpec::errcode("*", -1)
            },
            100,
        )
        .unwrap();
        assert!(f.apply(Role::Api, "/x", None, 159).errcode.is_some());
        assert!(f.apply(Role::Api, "/x", None, 160).errcode.is_none());
    }

    #[test]
    fn credential_prefix() {
        assert!(credential_matches("ww1", "ww1/1000002"));
        assert!(credential_matches("ww1/1000002", "ww1/1000002"));
        assert!(!credential_matches("ww1", "ww10/1"));
    }
}

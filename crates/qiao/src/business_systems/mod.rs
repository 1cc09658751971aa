//! Business systems (业务系统): the OA, ERP, HR or forms systems that use Qiao. Each is an
//! entity of its own: a name, the browser origins allowed to call Qiao for it, the API keys
//! bound to it (a bound key acts as that system and sees only its resources), and its webhook
//! subscriptions (see [`crate::webhooks`]). The identity and push capabilities add its OIDC
//! client and message sources.

mod store;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::auth::api_keys::{self, ApiKey, ApiKeyError, Scope};
use crate::store::{Store, StoreError, TenantId};

/// Origins a system may list (a browser app rarely needs more than a few).
pub const MAX_ORIGINS: usize = 50;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BusinessSystem {
    pub id: i64,
    pub name: String,
    /// Browser origins (`scheme://host[:port]`) allowed to call Qiao on the system's behalf.
    pub allowed_origins: Vec<String>,
    pub remark: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBusinessSystem {
    /// 1 to 64 characters, unique.
    pub name: String,
    /// `https://oa.example.com`, `http://10.0.0.5:8080`: scheme, host and port only.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub remark: String,
}

/// A partial update: absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessSystemPatch {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub remark: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BusinessSystemError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("a business system named {0} already exists")]
    Duplicate(String),
    #[error("no such business system")]
    NotFound,
    #[error("no such API key of this business system")]
    KeyNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BusinessSystemError {
    fn from(e: sqlx::Error) -> Self {
        BusinessSystemError::Store(e.into())
    }
}

impl From<ApiKeyError> for BusinessSystemError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::BadName => invalid("name", e.to_string()),
            ApiKeyError::NoScope | ApiKeyError::UnknownScope(_) => invalid("scopes", e.to_string()),
            ApiKeyError::NotFound => BusinessSystemError::KeyNotFound,
            ApiKeyError::Store(e) => BusinessSystemError::Store(e),
        }
    }
}

fn invalid(field: &'static str, why: impl Into<String>) -> BusinessSystemError {
    BusinessSystemError::Invalid {
        field,
        why: why.into(),
    }
}

fn valid_name(value: &str) -> Result<String, BusinessSystemError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 64 {
        return Err(invalid("name", "must be 1 to 64 characters"));
    }
    Ok(value.to_string())
}

fn valid_remark(value: &str) -> Result<String, BusinessSystemError> {
    if value.chars().count() > 500 {
        return Err(invalid("remark", "must be at most 500 characters"));
    }
    Ok(value.trim().to_string())
}

/// Normalises an origin to `scheme://host[:port]` (lower-case host, default port dropped), or
/// says what is wrong with it.
pub fn normalize_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    let parsed = url::Url::parse(value).map_err(|_| {
        format!("`{value}` is not an origin such as https://oa.example.com or http://10.0.0.5:8080")
    })?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!("`{value}` must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{value}` has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "`{value}` must not contain a user name or password"
        ));
    }
    let bare = parsed.path() == "/" && parsed.query().is_none() && parsed.fragment().is_none();
    if !bare {
        return Err(format!(
            "`{value}` must be an origin only (scheme://host[:port]), without a path, query or fragment"
        ));
    }
    Ok(parsed.origin().ascii_serialization())
}

fn valid_origins(values: &[String]) -> Result<Vec<String>, BusinessSystemError> {
    let mut out: Vec<String> = Vec::new();
    for value in values.iter().filter(|v| !v.trim().is_empty()) {
        let origin = normalize_origin(value).map_err(|why| invalid("allowed_origins", why))?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    if out.len() > MAX_ORIGINS {
        return Err(invalid(
            "allowed_origins",
            format!("at most {MAX_ORIGINS} origins"),
        ));
    }
    Ok(out)
}

fn snapshot(system: &BusinessSystem) -> serde_json::Value {
    json!({ "name": system.name, "allowed_origins": system.allowed_origins, "remark": system.remark })
}

fn duplicate_or(name: &str, e: StoreError) -> BusinessSystemError {
    if e.is_unique_violation() {
        BusinessSystemError::Duplicate(name.to_string())
    } else {
        e.into()
    }
}

/// Creates a business system (audited).
pub async fn create(
    store: &Store,
    tenant: TenantId,
    new: NewBusinessSystem,
    actor: &Actor,
    now: i64,
) -> Result<BusinessSystem, BusinessSystemError> {
    let name = valid_name(&new.name)?;
    let origins = valid_origins(&new.allowed_origins)?;
    let remark = valid_remark(&new.remark)?;
    let mut tx = store.begin_write().await?;
    let id = store::insert(&mut tx, tenant, &name, &origins, &remark, now)
        .await
        .map_err(|e| duplicate_or(&name, e))?;
    let system = BusinessSystem {
        id,
        name,
        allowed_origins: origins,
        remark,
        created_ms: now,
        updated_ms: now,
    };
    audit::record(
        &mut tx,
        tenant,
        actor,
        "business_system.create",
        &format!("business_system:{id}"),
        None,
        Some(&snapshot(&system)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(system)
}

pub async fn get(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Option<BusinessSystem>, StoreError> {
    store::get(store, tenant, id).await
}

pub async fn list(store: &Store, tenant: TenantId) -> Result<Vec<BusinessSystem>, StoreError> {
    store::list(store, tenant).await
}

/// Applies a partial update with an audited before/after.
pub async fn update(
    store: &Store,
    tenant: TenantId,
    id: i64,
    patch: BusinessSystemPatch,
    actor: &Actor,
    now: i64,
) -> Result<BusinessSystem, BusinessSystemError> {
    let before = get(store, tenant, id)
        .await?
        .ok_or(BusinessSystemError::NotFound)?;
    let after = BusinessSystem {
        name: match &patch.name {
            Some(n) => valid_name(n)?,
            None => before.name.clone(),
        },
        allowed_origins: match &patch.allowed_origins {
            Some(o) => valid_origins(o)?,
            None => before.allowed_origins.clone(),
        },
        remark: match &patch.remark {
            Some(r) => valid_remark(r)?,
            None => before.remark.clone(),
        },
        updated_ms: now,
        ..before.clone()
    };
    let mut tx = store.begin_write().await?;
    store::update(
        &mut tx,
        id,
        &after.name,
        &after.allowed_origins,
        &after.remark,
        now,
    )
    .await
    .map_err(|e| duplicate_or(&after.name, e))?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "business_system.update",
        &format!("business_system:{id}"),
        Some(&snapshot(&before)),
        Some(&snapshot(&after)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a business system: its API keys are revoked (and stay listed, unbound), its
/// webhook subscriptions and their delivery log are deleted. Audited.
pub async fn delete(
    store: &Store,
    tenant: TenantId,
    id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), BusinessSystemError> {
    let before = get(store, tenant, id)
        .await?
        .ok_or(BusinessSystemError::NotFound)?;
    let mut tx = store.begin_write().await?;
    let revoked = api_keys::revoke_bound_keys(&mut tx, tenant, id, now).await?;
    store::delete(&mut tx, id).await?;
    let mut gone = snapshot(&before);
    gone["api_keys_revoked"] = json!(revoked);
    audit::record(
        &mut tx,
        tenant,
        actor,
        "business_system.delete",
        &format!("business_system:{id}"),
        Some(&gone),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The API keys bound to a system (never the keys themselves), newest first.
pub async fn keys(
    store: &Store,
    tenant: TenantId,
    id: i64,
) -> Result<Vec<ApiKey>, BusinessSystemError> {
    get(store, tenant, id)
        .await?
        .ok_or(BusinessSystemError::NotFound)?;
    Ok(api_keys::list_bound_keys(store, tenant, id).await?)
}

/// Creates an API key bound to the system; returns its record and the key (shown once).
#[allow(clippy::too_many_arguments)]
pub async fn create_key(
    store: &Store,
    tenant: TenantId,
    id: i64,
    name: &str,
    scopes: &[Scope],
    expires_ms: Option<i64>,
    actor: &Actor,
    now: i64,
) -> Result<(ApiKey, String), BusinessSystemError> {
    get(store, tenant, id)
        .await?
        .ok_or(BusinessSystemError::NotFound)?;
    let mut tx = store.begin_write().await?;
    let (record, key) = api_keys::create_bound_key(
        &mut tx,
        tenant,
        Some(id),
        name,
        scopes,
        &actor.name,
        expires_ms,
        now,
    )
    .await?;
    let after = json!({ "name": record.name, "prefix": record.prefix, "scopes": record.scopes,
        "business_system_id": id });
    audit::record(
        &mut tx,
        tenant,
        actor,
        "api_key.create",
        &record.id.to_string(),
        None,
        Some(&after),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((record, key))
}

/// Revokes a key of the system (a key of another system is not found here).
pub async fn revoke_key(
    store: &Store,
    tenant: TenantId,
    id: i64,
    key_id: i64,
    actor: &Actor,
    now: i64,
) -> Result<(), BusinessSystemError> {
    let key = api_keys::get_key(store, tenant, key_id).await?;
    if key.is_none_or(|k| k.business_system_id != Some(id)) {
        return Err(BusinessSystemError::KeyNotFound);
    }
    let mut tx = store.begin_write().await?;
    api_keys::revoke_key(&mut tx, tenant, key_id, now).await?;
    audit::record(
        &mut tx,
        tenant,
        actor,
        "api_key.revoke",
        &key_id.to_string(),
        None,
        Some(&json!({ "business_system_id": id })),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_or_refused() {
        assert_eq!(
            normalize_origin("https://OA.Example.com").unwrap(),
            "https://oa.example.com"
        );
        assert_eq!(
            normalize_origin("https://oa.example.com:443/").unwrap(),
            "https://oa.example.com"
        );
        assert_eq!(
            normalize_origin(" http://10.0.0.5:8080 ").unwrap(),
            "http://10.0.0.5:8080"
        );
        for bad in [
            "oa.example.com",
            "ftp://oa.example.com",
            "https://oa.example.com/path",
            "https://oa.example.com?x=1",
            "https://user:pw@oa.example.com",
            "https://",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
        assert_eq!(
            valid_origins(&[
                "https://a.example".into(),
                "https://A.example/".into(),
                " ".into()
            ])
            .unwrap(),
            vec!["https://a.example".to_string()]
        );
    }
}

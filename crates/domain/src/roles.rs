//! BetaTesting roles: a catalogue with precedence and landing paths, tenants' mappings from
//! pushed IdP group names to roles, and the rule that picks a user's effective role.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// One role of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDef {
    /// Stable key, e.g. `company_admin`.
    pub key: String,
    /// Display name, e.g. `Company Admin`.
    pub name: String,
    /// Higher wins when a user is in several mapped groups.
    pub precedence: i32,
    /// Where a user with this role lands after SSO.
    pub landing_path: String,
}

/// The role catalogue (configurable; SPEC §6 defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleCatalogue(Vec<RoleDef>);

impl Default for RoleCatalogue {
    fn default() -> Self {
        let role = |key: &str, name: &str, precedence, landing: &str| RoleDef {
            key: key.into(),
            name: name.into(),
            precedence,
            landing_path: landing.into(),
        };
        Self(vec![
            role("company_admin", "Company Admin", 300, "/company/dashboard"),
            role("support", "Support", 200, "/support/inbox"),
            role("tester", "Tester", 100, "/tester/home"),
        ])
    }
}

impl RoleCatalogue {
    /// A catalogue from configuration; keys must be unique and non-empty.
    pub fn new(roles: Vec<RoleDef>) -> Result<Self, DomainError> {
        if roles.is_empty() {
            return Err(DomainError::InvalidValue("the role catalogue must not be empty".into()));
        }
        for (i, r) in roles.iter().enumerate() {
            if r.key.trim().is_empty() || roles.iter().skip(i + 1).any(|o| o.key == r.key) {
                return Err(DomainError::InvalidValue(format!(
                    "role key '{}' is empty or repeated",
                    r.key
                )));
            }
        }
        Ok(Self(roles))
    }

    /// All roles, highest precedence first.
    pub fn roles(&self) -> Vec<&RoleDef> {
        let mut v: Vec<&RoleDef> = self.0.iter().collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.precedence));
        v
    }

    /// The role with this key.
    pub fn get(&self, key: &str) -> Option<&RoleDef> {
        self.0.iter().find(|r| r.key == key)
    }

    /// Checks a role key, naming the valid ones when it is unknown.
    pub fn check(&self, key: &str) -> Result<(), DomainError> {
        if self.get(key).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self.0.iter().map(|r| r.key.as_str()).collect();
        Err(DomainError::InvalidValue(format!(
            "unknown role '{key}'; roles are: {}",
            known.join(", ")
        )))
    }

    /// The effective role: the highest-precedence role among the mapped groups a user is in,
    /// else the connection's default role, else none.
    pub fn effective<'a>(&self, mapped: impl IntoIterator<Item = &'a str>, default: Option<&str>) -> Option<String> {
        mapped
            .into_iter()
            .filter_map(|k| self.get(k))
            .max_by_key(|r| r.precedence)
            .map(|r| r.key.clone())
            .or_else(|| default.filter(|d| self.get(d).is_some()).map(str::to_owned))
    }
}

/// A tenant's mapping of one pushed group (by display name) to a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapping {
    pub group: String,
    pub role: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn highest_precedence_wins_then_default_then_none() {
        let c = RoleCatalogue::default();
        assert_eq!(
            c.effective(["tester", "company_admin"], None).as_deref(),
            Some("company_admin")
        );
        assert_eq!(
            c.effective(["support", "tester"], Some("company_admin")).as_deref(),
            Some("support")
        );
        assert_eq!(c.effective([], Some("tester")).as_deref(), Some("tester"));
        assert_eq!(c.effective(["nope"], None), None);
        assert_eq!(c.effective([], None), None);
    }

    #[test]
    fn catalogue_refuses_duplicates_and_names_known_roles() {
        let r = RoleDef {
            key: "a".into(),
            name: "A".into(),
            precedence: 1,
            landing_path: "/a".into(),
        };
        assert!(RoleCatalogue::new(vec![r.clone(), r]).is_err());
        let err = RoleCatalogue::default().check("owner").unwrap_err().to_string();
        assert!(err.contains("company_admin, support, tester"), "{err}");
    }
}

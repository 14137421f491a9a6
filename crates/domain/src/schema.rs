//! SCIM resource schemas (RFC 7643 §4, §7, §8.7.1): the single table that drives input
//! validation, PATCH path resolution, filter attribute resolution and the `/Schemas` endpoint.

use serde_json::{Value, json};

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of list responses.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of PATCH requests.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// URN of error bodies.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// URN of search requests.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
}

impl AttrType {
    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Integer => "integer",
            Self::DateTime => "dateTime",
            Self::Reference => "reference",
            Self::Complex => "complex",
        }
    }
}

/// RFC 7643 §2.2 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §2.2 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute definition.
#[derive(Debug)]
pub struct AttributeDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub case_exact: bool,
    pub required: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub unique: bool,
    pub description: &'static str,
    pub sub_attributes: &'static [AttributeDef],
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
}

/// One schema: its URN and its attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttributeDef {
    AttributeDef {
        name,
        ty,
        multi_valued: false,
        case_exact: false,
        required: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        description,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
    }
}

const fn string(name: &'static str, description: &'static str) -> AttributeDef {
    attr(name, AttrType::String, description)
}

const fn multi(name: &'static str, description: &'static str, sub_attributes: &'static [AttributeDef]) -> AttributeDef {
    AttributeDef {
        multi_valued: true,
        sub_attributes,
        ..attr(name, AttrType::Complex, description)
    }
}

const fn complex(
    name: &'static str,
    description: &'static str,
    sub_attributes: &'static [AttributeDef],
) -> AttributeDef {
    AttributeDef {
        sub_attributes,
        ..attr(name, AttrType::Complex, description)
    }
}

const fn read_only(def: AttributeDef) -> AttributeDef {
    AttributeDef {
        mutability: Mutability::ReadOnly,
        ..def
    }
}

/// The sub-attributes shared by most multi-valued attributes (RFC 7643 §2.4).
const MULTI_VALUED_DEFAULT: &[AttributeDef] = &[
    string("value", "The attribute's significant value."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "A label indicating the attribute's function."),
    attr(
        "primary",
        AttrType::Boolean,
        "A Boolean value indicating the 'primary' or preferred attribute value.",
    ),
];

const NAME_SUB: &[AttributeDef] = &[
    string("formatted", "The full name, formatted for display."),
    string("familyName", "The family name of the User."),
    string("givenName", "The given name of the User."),
    string("middleName", "The middle name(s) of the User."),
    string("honorificPrefix", "The honorific prefix(es) of the User."),
    string("honorificSuffix", "The honorific suffix(es) of the User."),
];

const ADDRESS_SUB: &[AttributeDef] = &[
    string("formatted", "The full mailing address, formatted for display."),
    string("streetAddress", "The full street address component."),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    string("type", "A label indicating the attribute's function."),
    attr("primary", AttrType::Boolean, "Marks the primary address."),
];

const GROUP_REF_SUB: &[AttributeDef] = &[
    read_only(string("value", "The identifier of the User's group.")),
    read_only(AttributeDef {
        reference_types: &["Group"],
        ..attr(
            "$ref",
            AttrType::Reference,
            "The URI of the corresponding Group resource.",
        )
    }),
    read_only(string("display", "A human-readable name of the group.")),
    read_only(string("type", "How the membership was derived: 'direct'.")),
];

const USER_ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef {
        required: true,
        unique: true,
        ..string(
            "userName",
            "Unique identifier for the User, typically used by the user to directly authenticate.",
        )
    },
    complex("name", "The components of the user's real name.", NAME_SUB),
    string(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    string("nickName", "The casual way to address the user in real life."),
    AttributeDef {
        reference_types: &["external"],
        ..attr(
            "profileUrl",
            AttrType::Reference,
            "A fully qualified URL pointing to a page representing the User's online profile.",
        )
    },
    string("title", "The user's title, such as \"Vice President\"."),
    string(
        "userType",
        "Used to identify the relationship between the organization and the user.",
    ),
    string(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language.",
    ),
    string("locale", "Used to indicate the User's default location."),
    string(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format.",
    ),
    attr(
        "active",
        AttrType::Boolean,
        "A Boolean value indicating the User's administrative status.",
    ),
    AttributeDef {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        ..string(
            "password",
            "Accepted for compatibility and discarded: this service never stores passwords.",
        )
    },
    multi("emails", "Email addresses for the user.", MULTI_VALUED_DEFAULT),
    multi("phoneNumbers", "Phone numbers for the User.", MULTI_VALUED_DEFAULT),
    multi("ims", "Instant messaging addresses for the User.", MULTI_VALUED_DEFAULT),
    multi("photos", "URLs of photos of the User.", MULTI_VALUED_DEFAULT),
    multi("addresses", "A physical mailing address for this User.", ADDRESS_SUB),
    read_only(multi(
        "groups",
        "A list of groups to which the user belongs, derived from group membership.",
        GROUP_REF_SUB,
    )),
    multi(
        "entitlements",
        "A list of entitlements for the User.",
        MULTI_VALUED_DEFAULT,
    ),
    multi(
        "roles",
        "A list of roles for the User, as sent by the identity provider.",
        MULTI_VALUED_DEFAULT,
    ),
    multi(
        "x509Certificates",
        "A list of certificates issued to the User.",
        MULTI_VALUED_DEFAULT,
    ),
];

const MANAGER_SUB: &[AttributeDef] = &[
    string("value", "The id of the SCIM resource representing the User's manager."),
    AttributeDef {
        reference_types: &["User"],
        ..attr(
            "$ref",
            AttrType::Reference,
            "The URI of the SCIM resource representing the User's manager.",
        )
    },
    read_only(string("displayName", "The displayName of the User's manager.")),
];

const ENTERPRISE_ATTRIBUTES: &[AttributeDef] = &[
    string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    complex("manager", "The User's manager.", MANAGER_SUB),
];

const MEMBER_SUB: &[AttributeDef] = &[
    AttributeDef {
        mutability: Mutability::Immutable,
        ..string("value", "Identifier of the member of this Group.")
    },
    AttributeDef {
        mutability: Mutability::Immutable,
        reference_types: &["User"],
        ..attr("$ref", AttrType::Reference, "The URI of the member resource.")
    },
    read_only(string("display", "A human-readable name of the member.")),
    AttributeDef {
        mutability: Mutability::Immutable,
        canonical_values: &["User"],
        ..string("type", "The type of the member: 'User'.")
    },
];

const GROUP_ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef {
        required: true,
        unique: true,
        ..string(
            "displayName",
            "A human-readable name for the Group, unique within the tenant.",
        )
    },
    multi("members", "A list of members of the Group.", MEMBER_SUB),
];

/// The core User schema.
pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};

/// The Enterprise User extension.
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRIBUTES,
};

/// The core Group schema.
pub static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRIBUTES,
};

static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE_USER];

/// Every schema this service serves.
pub static ALL: [&SchemaDef; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

/// The two resource types and the schemas they combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The core schema of this resource type.
    pub fn core(self) -> &'static SchemaDef {
        match self {
            Self::User => &USER,
            Self::Group => &GROUP,
        }
    }

    /// The schema extensions known for this resource type.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            Self::User => &USER_EXTENSIONS,
            Self::Group => &[],
        }
    }

    /// The resource type's name as used in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The endpoint below the base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "/Users",
            Self::Group => "/Groups",
        }
    }

    /// The known schema with this URN (case-insensitive), core or extension.
    pub fn schema(self, urn: &str) -> Option<&'static SchemaDef> {
        std::iter::once(self.core())
            .chain(self.extensions().iter().copied())
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

impl SchemaDef {
    /// The attribute with this name, compared case-insensitively (RFC 7644 §3.10).
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.attributes, name)
    }
}

impl AttributeDef {
    /// The sub-attribute with this name, compared case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }
}

fn find(attributes: &'static [AttributeDef], name: &str) -> Option<&'static AttributeDef> {
    attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The common attributes every resource carries (RFC 7643 §3.1), which are read-only.
pub const COMMON_ATTRIBUTES: &[&str] = &["id", "externalId", "meta", "schemas"];

fn attribute_json(a: &AttributeDef) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "multiValued": a.multi_valued,
        "description": a.description,
        "required": a.required,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if let Some(obj) = v.as_object_mut() {
        if matches!(a.ty, AttrType::String | AttrType::Reference) {
            obj.insert("caseExact".into(), Value::Bool(a.case_exact));
        }
        if !a.sub_attributes.is_empty() {
            obj.insert(
                "subAttributes".into(),
                Value::Array(a.sub_attributes.iter().map(attribute_json).collect()),
            );
        }
        if !a.canonical_values.is_empty() {
            obj.insert("canonicalValues".into(), json!(a.canonical_values));
        }
        if !a.reference_types.is_empty() {
            obj.insert("referenceTypes".into(), json!(a.reference_types));
        }
    }
    v
}

/// The schema as served by `/Schemas` (RFC 7643 §7), without `meta`.
pub fn schema_json(s: &SchemaDef) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lookup_is_case_insensitive() {
        assert_eq!(USER.attribute("USERNAME").map(|a| a.name), Some("userName"));
        let name = USER.attribute("name");
        assert_eq!(
            name.and_then(|n| n.sub_attribute("givenname")).map(|a| a.name),
            Some("givenName")
        );
        assert!(USER.attribute("nosuch").is_none());
    }

    #[test]
    fn enterprise_extension_is_found_by_urn_in_any_case() {
        let urn = ENTERPRISE_USER_SCHEMA.to_ascii_uppercase();
        assert_eq!(ResourceKind::User.schema(&urn).map(|s| s.name), Some("EnterpriseUser"));
        assert!(ResourceKind::Group.schema(ENTERPRISE_USER_SCHEMA).is_none());
    }

    #[test]
    fn schema_json_marks_user_name_unique_and_password_never_returned() {
        let v = schema_json(&USER);
        let attrs = v["attributes"].as_array().cloned().unwrap_or_default();
        let user_name = attrs.iter().find(|a| a["name"] == "userName");
        assert_eq!(user_name.map(|a| a["uniqueness"].clone()), Some(json!("server")));
        let password = attrs.iter().find(|a| a["name"] == "password");
        assert_eq!(password.map(|a| a["returned"].clone()), Some(json!("never")));
    }
}

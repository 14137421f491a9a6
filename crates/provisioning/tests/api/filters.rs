//! Filters on every attribute of the schema, translated into SQL (indexed columns where they
//! exist, the JSON document otherwise): one table row per operator x attribute type, run over
//! HTTP on whichever database `TEST_DATABASE_URL` names, and a no-500 property test.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, assert_scim_error, encode, spawn_app};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Three users that between them carry every kind of attribute, and a group with alice.
async fn seed(app: &TestApp) -> (String, String, String) {
    let alice = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "userName": "alice@acme.test",
        "externalId": "ExtA",
        "displayName": "Alice S",
        "nickName": "Ali",
        "title": "Vice President",
        "userType": "Employee",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "preferredLanguage": "en",
        "profileUrl": "https://profiles.test/alice",
        "active": true,
        "name": {"formatted": "Dr. Alice Marie Smith", "givenName": "Alice", "familyName": "Smith",
                 "middleName": "Marie", "honorificPrefix": "Dr."},
        "emails": [{"value": "alice@acme.test", "type": "work", "primary": true, "display": "Alice at work"},
                   {"value": "alice@home.test", "type": "home"}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile", "primary": true},
                         {"value": "+44 20 7946 0000", "type": "work"}],
        "addresses": [{"streetAddress": "1 Main St", "locality": "Springfield", "country": "US",
                       "type": "work", "primary": true}],
        "ims": [{"value": "alice_im", "type": "xmpp"}],
        "photos": [{"value": "https://photos.test/a.jpg", "type": "photo"}],
        "roles": [{"value": "admin", "primary": true}],
        "entitlements": [{"value": "license-a"}],
        ENT: {"employeeNumber": "701", "costCenter": "CC1", "organization": "Acme", "division": "R%D",
              "department": "Engineering", "manager": {"value": "mgr-1"}}
    });
    let bob = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "userName": "Bob@Acme.test",
        "externalId": "extb",
        "displayName": "Bob",
        "title": "engineer",
        "userType": "Contractor",
        "active": false,
        "name": {"givenName": "Bob", "familyName": "Jones"},
        "phoneNumbers": [{"value": "+44 1234", "type": "mobile"}],
        "roles": [{"value": "user"}],
        ENT: {"employeeNumber": "702", "department": "Sales", "manager": {"value": "mgr-2"}}
    });
    let carol = json!({"userName": "carol@acme.test", "name": {"givenName": "Carol"}});
    let mut ids = Vec::new();
    for body in [alice, bob, carol] {
        let (status, res) = app.post("/Users", &body).await;
        assert_eq!(status, 201, "{res}");
        ids.push(res["id"].as_str().unwrap().to_owned());
    }
    let group = app.create_group("Admins", &[ids[0].as_str()]).await;
    (ids[0].clone(), ids[1].clone(), group)
}

async fn user_names(app: &TestApp, filter: &str) -> Result<Vec<String>, (u16, Value)> {
    let (status, body) = app.get(&format!("/Users?filter={}", encode(filter))).await;
    if status != 200 {
        return Err((status, body));
    }
    let mut names: Vec<String> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["userName"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
                .replace("@acme.test", "")
        })
        .collect();
    names.sort();
    assert_eq!(body["totalResults"], names.len(), "{filter}");
    Ok(names)
}

#[tokio::test]
async fn every_operator_on_every_attribute_type_runs_in_sql() -> TestResult {
    let app = spawn_app().await;
    let (_alice, _bob, group) = seed(&app).await;
    let created_gt = "meta.created gt \"2000-01-01T00:00:00Z\"".to_owned();
    let groups_value = format!("groups.value eq \"{group}\"");
    let cases: Vec<(&str, &str, &[&str])> = vec![
        // Strings in the JSON document, case-insensitive (caseExact false).
        ("json string eq ignores case", "title eq \"VICE president\"", &["alice"]),
        (
            "json string ne keeps the absent",
            "title ne \"Engineer\"",
            &["alice", "carol"],
        ),
        ("json string co", "title co \"president\"", &["alice"]),
        ("json string sw", "userType sw \"emp\"", &["alice"]),
        ("json string ew", "timezone ew \"angeles\"", &["alice"]),
        ("json string gt", "title gt \"f\"", &["alice"]),
        ("json string ge", "title ge \"ENGINEER\"", &["alice", "bob"]),
        ("json string lt", "title lt \"f\"", &["bob"]),
        ("json string le", "title le \"vice president\"", &["alice", "bob"]),
        ("json string pr", "nickName pr", &["alice"]),
        ("json not pr", "not (title pr)", &["carol"]),
        ("json eq null", "locale eq null", &["bob", "carol"]),
        ("json reference", "profileUrl sw \"https://profiles\"", &["alice"]),
        ("preferredLanguage", "preferredLanguage eq \"EN\"", &["alice"]),
        ("LIKE wildcards are literal", "title co \"%\"", &[]),
        ("LIKE underscore is literal", "nickName sw \"A_\"", &[]),
        (
            "number compared as text",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ge 701",
            &["alice", "bob"],
        ),
        // Complex sub-attributes.
        ("name.middleName eq", "name.middleName eq \"marie\"", &["alice"]),
        ("name.formatted co", "name.formatted co \"SMITH\"", &["alice"]),
        ("name.honorificPrefix pr", "name.honorificPrefix pr", &["alice"]),
        ("complex pr", "name pr", &["alice", "bob", "carol"]),
        ("indexed name.givenName", "name.givenName sw \"c\"", &["carol"]),
        ("indexed name.familyName pr", "name.familyName pr", &["alice", "bob"]),
        // Enterprise extension by URN.
        (
            "enterprise eq",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701\"",
            &["alice"],
        ),
        (
            "enterprise sw",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw \"eng\"",
            &["alice"],
        ),
        (
            "enterprise % literal",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division eq \"r%d\"",
            &["alice"],
        ),
        (
            "enterprise manager.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"MGR-2\"",
            &["bob"],
        ),
        (
            "enterprise manager compared through value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq \"mgr-1\"",
            &["alice"],
        ),
        (
            "enterprise complex pr",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr",
            &["alice", "bob"],
        ),
        (
            "not keeps users without the attribute",
            "not (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"engineering\")",
            &["bob", "carol"],
        ),
        (
            "URN-qualified core attribute",
            "urn:ietf:params:scim:schemas:core:2.0:User:title eq \"engineer\"",
            &["bob"],
        ),
        // Multi-valued attributes of the document.
        (
            "value path with two conditions on one element",
            "phoneNumbers[type eq \"mobile\" and value sw \"+1\"]",
            &["alice"],
        ),
        (
            "value path, one condition",
            "phoneNumbers[type eq \"mobile\"]",
            &["alice", "bob"],
        ),
        (
            "same element, not any element",
            "phoneNumbers[type eq \"work\" and value sw \"+1\"]",
            &[],
        ),
        (
            "multi-valued sub-attribute",
            "phoneNumbers.value sw \"+44\"",
            &["alice", "bob"],
        ),
        ("multi-valued pr", "phoneNumbers pr", &["alice", "bob"]),
        ("multi-valued compared through value", "roles eq \"admin\"", &["alice"]),
        (
            "json boolean in an element",
            "phoneNumbers[primary eq true]",
            &["alice"],
        ),
        ("json boolean ne", "roles[primary ne true]", &["bob"]),
        ("json boolean as string", "roles.primary eq \"TRUE\"", &["alice"]),
        (
            "addresses value path",
            "addresses[type eq \"work\" and locality eq \"springfield\"]",
            &["alice"],
        ),
        ("addresses sub-attribute", "addresses.country eq \"us\"", &["alice"]),
        ("ims", "ims.value eq \"alice_im\"", &["alice"]),
        ("photos", "photos[type eq \"photo\" and value ew \".jpg\"]", &["alice"]),
        ("entitlements", "entitlements eq \"LICENSE-A\"", &["alice"]),
        (
            "not inside a value path",
            "phoneNumbers[not (type eq \"work\")]",
            &["alice", "bob"],
        ),
        // Emails: the indexed table, and the JSON document for unindexed sub-attributes.
        (
            "emails indexed",
            "emails[type eq \"work\" and value ew \"acme.test\"]",
            &["alice"],
        ),
        (
            "emails Entra form",
            "emails[type eq \"work\"].value eq \"alice@acme.test\"",
            &["alice"],
        ),
        (
            "emails display from the document",
            "emails[display co \"work\"]",
            &["alice"],
        ),
        ("emails.display pr", "emails.display pr", &["alice"]),
        ("emails primary", "emails[primary eq true]", &["alice"]),
        // Columns.
        ("userName eq ignores case", "userName eq \"BOB@acme.TEST\"", &["bob"]),
        ("externalId is caseExact", "externalId eq \"exta\"", &[]),
        ("externalId exact match", "externalId eq \"ExtA\"", &["alice"]),
        (
            "externalId co is case-sensitive",
            "externalId co \"xt\"",
            &["alice", "bob"],
        ),
        ("externalId sw is case-sensitive", "externalId sw \"E\"", &["alice"]),
        ("displayName ne", "displayName ne \"bob\"", &["alice", "carol"]),
        ("boolean column", "active eq false", &["bob"]),
        ("boolean column ne", "active ne false", &["alice", "carol"]),
        ("dateTime gt", created_gt.as_str(), &["alice", "bob", "carol"]),
        ("dateTime lt", "meta.lastModified lt \"2000-01-01T00:00:00+02:00\"", &[]),
        (
            "dateTime ge",
            "meta.lastModified ge \"2000-01-01T00:00:00Z\"",
            &["alice", "bob", "carol"],
        ),
        (
            "dateTime le",
            "meta.created le \"2999-01-01T00:00:00Z\"",
            &["alice", "bob", "carol"],
        ),
        ("groups membership", groups_value.as_str(), &["alice"]),
        ("groups pr", "groups pr", &["alice"]),
        // Logic and grouping.
        (
            "or and grouping",
            "(title eq \"engineer\" or nickName eq \"ali\") and active eq true",
            &["alice"],
        ),
        (
            "and binds tighter than or",
            "title eq \"engineer\" or nickName eq \"ali\" and active eq false",
            &["bob"],
        ),
        (
            "operators and names in any case",
            "TITLE EQ \"engineer\" OR USERTYPE Sw \"EMP\"",
            &["alice", "bob"],
        ),
    ];
    for (name, filter, want) in &cases {
        let got = user_names(&app, filter)
            .await
            .unwrap_or_else(|(s, b)| panic!("{name}: {filter} answered {s}: {b}"));
        assert_eq!(got, *want, "{name}: {filter}");
    }
    Ok(())
}

#[tokio::test]
async fn group_filters_and_unknown_attributes() -> TestResult {
    let app = spawn_app().await;
    let (alice, _bob, group) = seed(&app).await;
    let (status, body) = app
        .get(&format!(
            "/Groups?filter={}",
            encode(&format!("members[value eq \"{alice}\"] and displayName sw \"adm\""))
        ))
        .await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(1)), "{body}");
    assert_eq!(body["Resources"][0]["id"], group.as_str());
    let (status, body) = app.get(&format!("/Groups?filter={}", encode("not (members pr)"))).await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(0)), "{body}");

    let bad: Vec<(&str, &str, &str)> = vec![
        ("/Users", "shoeSize eq \"42\"", "shoeSize"),
        (
            "/Users",
            "urn:example:custom:1.0:User:tshirt eq \"M\"",
            "urn:example:custom:1.0:User",
        ),
        ("/Users", "password eq \"x\"", "password"),
        ("/Users", "name.nosuch eq \"a\"", "nosuch"),
        ("/Users", "phoneNumbers[nosuch eq \"a\"]", "nosuch"),
        ("/Users", "addresses eq \"x\"", "addresses"),
        ("/Users", "name eq \"x\"", "name"),
        ("/Users", "title[value eq \"x\"]", "title"),
        ("/Users", "phoneNumbers.primary gt true", "primary"),
        (
            "/Users",
            "phoneNumbers[type eq \"x\"] and emails[type eq \"y\"] and nosuch pr",
            "nosuch",
        ),
        ("/Users", "meta.created co \"2020\"", "meta.created"),
        ("/Users", "meta.resourceType eq \"User\"", "meta.resourceType"),
        ("/Groups", "title eq \"x\"", "title"),
        ("/Groups", "members.display eq \"x\"", "members.display"),
    ];
    for (endpoint, filter, named) in bad {
        let (status, body) = app.get(&format!("{endpoint}?filter={}", encode(filter))).await;
        assert_scim_error(status, &body, 400, Some("invalidFilter"), filter);
        assert!(
            body["detail"].as_str().unwrap().contains(named),
            "{filter}: the detail names '{named}': {body}"
        );
    }
    Ok(())
}

/// A small deterministic xorshift PRNG.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const PATHS: &[&str] = &[
    "userName",
    "title",
    "nickName",
    "name.givenName",
    "name.middleName",
    "name",
    "emails",
    "emails.value",
    "emails.display",
    "phoneNumbers",
    "phoneNumbers.type",
    "addresses",
    "addresses.locality",
    "roles.primary",
    "active",
    "meta.created",
    "meta.lastModified",
    "meta.version",
    "externalId",
    "id",
    "groups",
    "members",
    "members.value",
    "displayName",
    "x509Certificates.value",
    "password",
    "nosuch",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "urn:x:y:z",
];
const OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"];
const VALUES: &[&str] = &[
    "\"a\"",
    "\"\"",
    "\"%_*?[\"",
    "\"2020-01-01T00:00:00Z\"",
    "\"yesterday\"",
    "true",
    "false",
    "null",
    "1",
    "-2.5e3",
    "1e400",
    "bare",
    "\"\\u00e9\"",
    "\"'; DROP TABLE users; --\"",
];
const GLUE: &[&str] = &[" and ", " or ", " AND ", " ", ")", "(", "not (", "[", "]", "\""];

fn random_filter(rng: &mut XorShift) -> String {
    let mut s = String::new();
    let terms = 1 + rng.next() % 4;
    for t in 0..terms {
        if t > 0 {
            s.push_str(rng.pick(&[" and ", " or "]));
        }
        match rng.next() % 10 {
            0 => s.push_str(rng.pick(GLUE)),
            1 => {
                s.push_str("not (");
                s.push_str(rng.pick(PATHS));
                s.push_str(" pr)");
            }
            2 | 3 => {
                s.push_str(rng.pick(&["emails", "phoneNumbers", "addresses", "members", "roles", "title"]));
                s.push('[');
                s.push_str(rng.pick(&["type", "value", "primary", "locality", "display", "nosuch"]));
                s.push(' ');
                s.push_str(rng.pick(OPS));
                s.push(' ');
                s.push_str(rng.pick(VALUES));
                s.push(']');
            }
            _ => {
                s.push_str(rng.pick(PATHS));
                s.push(' ');
                let op = rng.pick(OPS);
                s.push_str(op);
                if op != "pr" {
                    s.push(' ');
                    s.push_str(rng.pick(VALUES));
                }
            }
        }
        if rng.next().is_multiple_of(8) {
            s.push_str(rng.pick(GLUE));
        }
    }
    s
}

#[tokio::test]
async fn three_hundred_random_filters_answer_200_or_400_never_500() -> TestResult {
    let app = spawn_app().await;
    seed(&app).await;
    let mut rng = XorShift(0x5EED_F11E_0000_0001);
    let (mut ok, mut bad) = (0, 0);
    for round in 0..300 {
        let filter = random_filter(&mut rng);
        let endpoint = if round % 3 == 0 { "/Groups" } else { "/Users" };
        let (status, body) = app.get(&format!("{endpoint}?filter={}", encode(&filter))).await;
        match status {
            200 => ok += 1,
            400 => {
                assert!(
                    body["scimType"] == "invalidFilter" || body["scimType"] == "invalidValue",
                    "{filter}: {body}"
                );
                bad += 1;
            }
            other => panic!("{endpoint}?filter={filter} answered {other}: {body}"),
        }
    }
    assert!(
        ok > 30 && bad > 30,
        "the generator covers both outcomes ({ok} ok, {bad} bad)"
    );
    // The app is still healthy after all of it.
    let (status, body) = app.get("/Users").await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(3)));
    Ok(())
}

//! Reading an IdP's SAML metadata XML (entity ID, SSO URL, signing certificates) and building
//! the SP values the customer pastes into the IdP. Parsing only: signatures are verified by the
//! SSO module with libxmlsec1, never here.

use crate::DomainError;
use crate::tenant::SamlIdp;

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

fn invalid(msg: impl Into<String>) -> DomainError {
    DomainError::InvalidValue(msg.into())
}

/// Parses IdP metadata; refuses metadata without a signing certificate (assertions could not
/// be verified).
pub fn parse_idp_metadata(xml: &str) -> Result<SamlIdp, DomainError> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| invalid(format!("the IdP metadata is not well-formed XML: {e}")))?;
    let entity = doc
        .descendants()
        .find(|n| n.has_tag_name((MD, "EntityDescriptor")))
        .ok_or_else(|| invalid("the IdP metadata has no md:EntityDescriptor"))?;
    let entity_id = entity
        .attribute("entityID")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("the IdP metadata's EntityDescriptor has no entityID"))?
        .to_owned();
    let idp = entity
        .descendants()
        .find(|n| n.has_tag_name((MD, "IDPSSODescriptor")))
        .ok_or_else(|| invalid("the IdP metadata has no md:IDPSSODescriptor"))?;
    let services: Vec<_> = idp
        .children()
        .filter(|n| n.has_tag_name((MD, "SingleSignOnService")))
        .collect();
    let sso_url = [REDIRECT, POST]
        .iter()
        .find_map(|b| {
            services
                .iter()
                .find(|s| s.attribute("Binding") == Some(b))
                .and_then(|s| s.attribute("Location"))
        })
        .ok_or_else(|| {
            invalid("the IdP metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")
        })?
        .to_owned();
    let certificates: Vec<String> = idp
        .children()
        .filter(|n| n.has_tag_name((MD, "KeyDescriptor")) && n.attribute("use").is_none_or(|u| u == "signing"))
        .flat_map(|k| k.descendants().filter(|n| n.has_tag_name((DS, "X509Certificate"))))
        .filter_map(|n| n.text())
        .map(der_base64_to_pem)
        .collect::<Result<_, _>>()?;
    if certificates.is_empty() {
        return Err(invalid(
            "the IdP metadata carries no signing certificate, so its assertions could not be verified",
        ));
    }
    validate_sso_url(&sso_url)?;
    Ok(SamlIdp {
        entity_id,
        sso_url,
        certificates,
    })
}

/// Checks the IdP SSO URL is an absolute http(s) URL.
pub fn validate_sso_url(url: &str) -> Result<(), DomainError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(invalid(format!(
            "the IdP SSO URL '{url}' must be an absolute https:// URL"
        )))
    }
}

fn der_base64_to_pem(text: &str) -> Result<String, DomainError> {
    let b64: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let ok = !b64.is_empty()
        && b64
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    if !ok {
        return Err(invalid("an X509Certificate in the IdP metadata is not base64"));
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    Ok(format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    ))
}

/// Checks that a PEM file holds at least one certificate, and returns it normalised.
pub fn parse_pem_certificates(pem: &str) -> Result<Vec<String>, DomainError> {
    let mut certs = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let after = &rest[start + "-----BEGIN CERTIFICATE-----".len()..];
        let end = after
            .find("-----END CERTIFICATE-----")
            .ok_or_else(|| invalid("a PEM certificate has no END line"))?;
        certs.push(der_base64_to_pem(&after[..end])?);
        rest = &after[end..];
        rest = rest.get("-----END CERTIFICATE-----".len()..).unwrap_or_default();
    }
    if certs.is_empty() {
        return Err(invalid("no PEM certificate ('-----BEGIN CERTIFICATE-----') found"));
    }
    Ok(certs)
}

/// What the customer pastes into the IdP for a tenant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpValues {
    pub sp_entity_id: String,
    pub acs_url: String,
    pub sp_metadata_url: String,
}

/// The SP entity ID (the metadata URL), ACS URL and metadata URL of a tenant.
pub fn sp_values(public_base_url: &str, slug: &str) -> SpValues {
    let base = public_base_url.trim_end_matches('/');
    let metadata = format!("{base}/sso/{slug}/metadata");
    SpValues {
        sp_entity_id: metadata.clone(),
        acs_url: format!("{base}/sso/{slug}/acs"),
        sp_metadata_url: metadata,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub const OKTA_METADATA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1abcd">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIDqDCCApCgAwIBAgIGAXRs
QUJDRA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/x/sso/saml"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/app/x/sso/saml/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

    #[test]
    fn okta_metadata_yields_entity_id_redirect_url_and_certificate() {
        let idp = parse_idp_metadata(OKTA_METADATA).unwrap();
        assert_eq!(idp.entity_id, "http://www.okta.com/exk1abcd");
        assert_eq!(idp.sso_url, "https://acme.okta.com/app/x/sso/saml/redirect");
        assert_eq!(idp.certificates.len(), 1);
        assert!(idp.certificates[0].starts_with("-----BEGIN CERTIFICATE-----\nMIIDqDCCApCgAwIBAgIGAXRsQUJDRA==\n"));
    }

    #[test]
    fn metadata_without_what_an_sp_needs_is_refused_with_the_reason() {
        let cases = [
            ("<not xml", "well-formed"),
            (
                r#"<x xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>"#,
                "EntityDescriptor",
            ),
            (
                &OKTA_METADATA.replace("use=\"signing\"", "use=\"encryption\""),
                "no signing certificate",
            ),
            (
                &OKTA_METADATA.replace("SingleSignOnService", "ArtifactResolutionService"),
                "SingleSignOnService",
            ),
            (
                &OKTA_METADATA.replace(" entityID=\"http://www.okta.com/exk1abcd\"", ""),
                "entityID",
            ),
        ];
        for (xml, want) in cases {
            let err = parse_idp_metadata(xml).unwrap_err().to_string();
            assert!(err.contains(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn pem_files_are_split_into_certificates() {
        let pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n";
        assert_eq!(parse_pem_certificates(pem).unwrap().len(), 2);
        assert!(parse_pem_certificates("hello").is_err());
    }
}

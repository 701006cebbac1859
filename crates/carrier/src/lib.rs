//! The mobile-carrier three-factor check (运营商三要素核验) through Alibaba Cloud
//! Cell Phone Number Service (号码百科, product Dytnsapi).
//!
//! [`AliyunThreeElements`] implements [`shengshi_app::carrier::CarrierCheck`] with the
//! `ThreeElementsVerification` API (version `2020-02-17`, endpoint
//! `dytnsapi.aliyuncs.com`), signed with Alibaba Cloud's request signature V3,
//! `ACS3-HMAC-SHA256` (the shared `shengshi-acs-signature` crate). With the `fake`
//! feature, [`FakeThreeElements`] is a **fake** of that endpoint for tests and demos:
//! it checks signatures, clocks and nonces as the provider's gateway does and answers
//! from a table of registrations the tests fill; it asks no carrier anything.
//!
//! # The request
//!
//! `POST https://dytnsapi.aliyuncs.com/?AuthCode=…&CertCode=…&InputNumber=…&Mask=SHA256&Name=…`
//! with an empty body and the six signed headers `host`, `x-acs-action:
//! ThreeElementsVerification`, `x-acs-version: 2020-02-17`, `x-acs-date`,
//! `x-acs-signature-nonce` (fresh per attempt), `x-acs-content-sha256`, and
//! `Authorization`. The parameters go in the query string, where the official SDK
//! puts them (RPC style, POST, path `/`). `AuthCode` is the authorization ID of the
//! approved tag application (console, 我的申请).
//!
//! ## `Mask`: SHA256, and why
//!
//! The API takes `Mask` = `NORMAL` (plaintext), `MD5` or `SHA256`; under `MD5` or
//! `SHA256` each of `Name`, `CertCode` and `InputNumber` is sent as that hash, and
//! "letters in the encrypted strings are not case-sensitive". We send **`SHA256`**:
//!
//! - the resident's name, ID number and phone number then never leave the platform
//!   in the clear — not in the query string, and so not in any access log of a
//!   proxy or of the provider's front end that records URLs;
//! - of the two hashes the API offers, SHA-256 is the one that is not broken (MD5
//!   has practical collisions), and it is already in our dependency tree.
//!
//! What it does *not* give: secrecy against someone who holds the hashes. An
//! unsalted hash of an 11-digit phone number or an ID number (region, birth date and
//! a 3-digit sequence) can be reversed by trying candidates, so the hashes are
//! pseudonyms, treated as personal data (never logged), and TLS stays the real
//! protection in transit. Each field is the lower-case hex SHA-256 of its UTF-8 text
//! in the platform's normal form: the name as `PersonName` normalises it (NFC, one
//! space, U+00B7 middle dot), the ID number in its 18-character form with an
//! upper-case `X`, the phone number as its 11 national digits ([`masked_fields`]).
//!
//! # The answer
//!
//! | answer | result |
//! |---|---|
//! | `{"Code":"OK","Data":{"IsConsistent":1,…}}` (HTTP 200) | `Ok(CarrierVerdict::Consistent)` — name, ID number and phone belong to the same person |
//! | `… "IsConsistent":0 …` | `Ok(CarrierVerdict::Inconsistent)` — they do not |
//! | `… "IsConsistent":2 …` | `Ok(CarrierVerdict::NoRecord)` — the carrier has no record (also: a nonexistent or cancelled number at China Mobile and China Telecom) |
//! | `Code` `OK` with any other or no `IsConsistent` | `CarrierError::Unavailable`, never a verdict |
//! | any other `Code`, HTTP 200 (business, e.g. `OperatorLimit`) or 4xx (gateway: `SignatureDoesNotMatch`, …; API: `AuthCodeNotExist`, `MobileNumberIllegal`, …) | `CarrierError::Refused("<Code>: <Message>")`, not retried |
//! | 4xx without a `Code` | `CarrierError::Refused("HTTP <status>: …")` |
//! | 5xx, or cannot connect (refused, DNS, TLS, connect timeout) | retried; `CarrierError::Unavailable` when the attempts are spent |
//! | no answer within the timeout after the request went out | `CarrierError::Timeout`, not retried |
//! | a 2xx that is not a result, a broken answer | `CarrierError::Unavailable`, not retried |
//!
//! Note from the documentation: a number's registration is usually visible one to
//! three days after it is registered; China Unicom reports nonexistent and cancelled
//! numbers as inconsistent (0), the other two as no record (2); numbers of virtual
//! operators (170, 171, 162, 165) cannot be checked. The provider bills a call only
//! when `Code` is `OK` and `IsConsistent` is not 2.
//!
//! # Retries and timeouts
//!
//! The check is a read: repeating it changes nothing at the provider (at worst a
//! second billed call). An attempt is repeated only when it **could not connect**
//! (nothing was sent) or the provider answered **5xx**, at most
//! [`Options::max_attempts`] times (3 by default, 200 ms then 400 ms apart), each
//! attempt signed anew with a fresh nonce and date (the gateway refuses a nonce it
//! has seen). A **timeout** after the request went out is reported as
//! `CarrierError::Timeout` at once: a resident is waiting, and an attempt that did not
//! answer in [`Options::timeout`] (5 s by default, covering connect, send and the
//! answer) is unlikely to answer faster the second time. Refusals are not retried:
//! the same request would be refused again.
//!
//! # Secrets and personal data
//!
//! The access key secret is a [`secrecy::SecretString`], used only as the HMAC key;
//! `Debug` of the configuration and of the client shows `[redacted]`. The query
//! string holds the hashes, so the URL is never logged and transport errors are
//! reported without it. Logs carry the name, ID number and phone number only in their
//! masked forms (`张*`, `4401**********123X`, `138****8000`), never the hashes.
//! Provider texts are clipped to 200 characters. Plain `http` endpoints are refused
//! except on loopback (the fake), and redirects are not followed.
//!
//! # Sources
//!
//! - *ThreeElementsVerification - 运营商三要素核验*, Dytnsapi 2020-02-17 API reference:
//!   <https://help.aliyun.com/document_detail/433414.htm> (English:
//!   <https://help.aliyun.com/en/cpns/developer-reference/api-dytnsapi-2020-02-17-threeelementsverification>):
//!   the parameters `AuthCode`, `InputNumber`, `Mask` (`NORMAL`, `MD5`, `SHA256`),
//!   `CertCode`, `Name`, each hashed under `MD5`/`SHA256`, hash letters not
//!   case-sensitive; billing only for `Code='OK'` and `IsConsistent != 2`; no MVNO numbers;
//!   200 QPS per user.
//! - The generated SDK models in `aliyun/alibabacloud-typescript-sdk`,
//!   `dytnsapi-20200217/src/models/ThreeElementsVerificationRequest.ts` and
//!   `…ResponseBody.ts` (and the Java SDK's `ThreeElementsVerificationResponseBodyData`,
//!   <https://aliyunsdk-pages.alicdn.com/apidocs/Dytnsapi/2020-02-17/java-tea/2.8.0/com/aliyun/dytnsapi20200217/models/ThreeElementsVerificationResponseBody.ThreeElementsVerificationResponseBodyData.html>):
//!   `IsConsistent` is an integer, **1** = the name, phone number and ID number belong
//!   to the same user, **0** = they do not, **2** = cannot be found; `BasicCarrier`; the
//!   per-carrier table for out-of-service, nonexistent and cancelled numbers. The SDK
//!   client calls it as `action ThreeElementsVerification`, `version 2020-02-17`,
//!   `method POST`, `pathname /`, `style RPC`, parameters in the query.
//! - Dytnsapi public error codes (`AuthCodeNotExist`, `AuthCodeIllegal`,
//!   `CertCodeIllegal`, `MobileNumberIllegal`, …, HTTP 400):
//!   <https://help.aliyun.com/en/cpns/developer-reference/api-dytnsapi-2020-02-17-errorcodes>;
//!   `OperatorLimit` (HTTP 200) and `EncyrptTypeIllegal` from the sibling
//!   TwoElementsVerification reference, <https://help.aliyun.com/document_detail/433416.htm>.
//! - The V3 signature: the sources in `shengshi-acs-signature`.

mod client;
#[cfg(feature = "fake")]
mod fake;

pub use client::{
    masked_fields, sha256_field, AliyunThreeElements, AliyunThreeElementsConfig, ConfigError,
    Options, ACTION, DEFAULT_BACKOFF, DEFAULT_ENDPOINT, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT,
    MASK, VERSION,
};
#[cfg(feature = "fake")]
pub use fake::{FakeThreeElements, FAKE_AUTH_CODE};

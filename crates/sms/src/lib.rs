//! SMS through Alibaba Cloud Short Message Service.
//!
//! [`AliyunSms`] implements [`shengshi_app::sms::SmsGateway`] with the `SendSms`
//! API (version `2017-05-25`, endpoint `dysmsapi.aliyuncs.com`), signed with
//! Alibaba Cloud's request signature V3, `ACS3-HMAC-SHA256` ([`signature`], the
//! shared `shengshi-acs-signature` crate).
//! With the `fake` feature, [`FakeAliyunSms`] is a **fake** of that endpoint for
//! tests and demos: it checks signatures, clocks and nonces as the provider does,
//! but sends nothing.
//!
//! # The request
//!
//! `POST https://dysmsapi.aliyuncs.com/?PhoneNumbers=…&SignName=…&TemplateCode=…&TemplateParam=…`
//! with an empty body and the headers `host`, `x-acs-action: SendSms`,
//! `x-acs-version: 2017-05-25`, `x-acs-date` (UTC, `yyyy-MM-ddTHH:mm:ssZ`),
//! `x-acs-signature-nonce` (a fresh random UUID per attempt), `x-acs-content-sha256`
//! (of the empty body), all six signed, and `Authorization`. The parameters go in
//! the query string, which is exactly the canonical query string: this is where the
//! official SDK for Dysmsapi 2017-05-25 puts them (RPC style, path `/`).
//! `PhoneNumbers` is the 11 national digits of one number; `SignName` and
//! `TemplateCode` come from [`AliyunSmsConfig`] (the platform's template id, e.g.
//! `SMS_CODE`, maps to the approved template code); `TemplateParam` is a JSON object
//! of strings, e.g. `{"code":"123456"}`. The message text is not sent: the provider
//! renders its approved template.
//!
//! # The answer
//!
//! | answer | result |
//! |---|---|
//! | `{"Code":"OK","Message":"OK","BizId":…,"RequestId":…}` (HTTP 200) | `Ok(())` |
//! | any other `Code`, with HTTP 200 (business: `isv.BUSINESS_LIMIT_CONTROL`, `isv.MOBILE_NUMBER_ILLEGAL`, …) or 4xx (gateway: `SignatureDoesNotMatch`, `InvalidTimeStamp.Expired`, …) | `SmsError::Refused("<Code>: <Message>")`, not retried |
//! | 4xx without a `Code` | `SmsError::Refused("HTTP <status>: …")` |
//! | 5xx | retried; `SmsError::Unreachable` when the attempts are spent |
//! | cannot connect (refused, DNS, TLS, connect timeout) | retried; `SmsError::Unreachable` when the attempts are spent |
//! | timeout after the request went out, broken answer, a 2xx that is not a SendSms result | `SmsError::Unreachable`, not retried |
//!
//! # Retries, and why a retried SendSms can send a message twice
//!
//! SendSms is not idempotent: the SendSms reference says the API offers no
//! idempotence and asks callers to control it themselves, and recommends, after a
//! timeout, checking the delivery receipt before retrying. There is no idempotency
//! key to send. So an attempt is repeated only when the provider either cannot have
//! accepted the message or said it failed:
//!
//! - **a failure to connect** (connection refused, DNS, TLS handshake, connect
//!   timeout): no byte of the request was sent, so a retry cannot duplicate anything;
//! - **a 5xx answer**: the provider says it failed. A 5xx is not a promise that
//!   nothing was sent — a proxy or gateway answering 502/504 may sit in front of a
//!   backend that did accept the message — so here a duplicate is possible. We accept
//!   it: each attempt re-sends the *same* message (the same one-time code), so a
//!   duplicate costs one SMS and shows the resident the same code twice, while not
//!   retrying would fail a login or registration on a passing outage. It is bounded
//!   by [`Options::max_attempts`] (3 by default, with 200 ms then 400 ms waits) and
//!   the send caps of `shengshi_app::phone_codes` still count one send.
//!
//! A **timeout after the request was sent** is not retried (the message may well
//! have gone out; the resident can ask for a new code after the resend interval),
//! nor is any 4xx or business refusal (the same request would be refused again, and
//! `isv.BUSINESS_LIMIT_CONTROL` is the provider's flow control). Each attempt is
//! signed anew with a fresh nonce and date: the provider refuses a nonce it has
//! seen (`SignatureNonceUsed`), so re-sending the same signed bytes could only fail.
//!
//! Timeouts: [`Options::timeout`] (5 s by default, the SendSms reference asks for
//! at least 1 s) bounds each attempt: connecting, sending and reading the answer.
//!
//! # Secrets and personal data
//!
//! The access key secret is a [`secrecy::SecretString`], used only as the HMAC key;
//! `Debug` of the configuration and of the gateway shows `[redacted]`. The query
//! string holds the phone number and the code, so the URL is never logged and
//! transport errors are reported without it (`reqwest::Error::without_url`). Logs
//! carry the number only as `PhoneNumber::masked()` (`138****8000`) and never the
//! message text or parameters. Provider texts are clipped to 200 characters before
//! they enter an error or a log line. Plain `http` endpoints are refused except on
//! loopback (the fake), and redirects are not followed.
//!
//! # Clock
//!
//! `x-acs-date` must be within 15 minutes of the provider's clock, so it is taken
//! from the system clock (not the platform's `Clock`, which tests and demos may set).
//!
//! # Sources
//!
//! - Alibaba Cloud SDK, *Request syntax and signature method V3*:
//!   <https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature>
//!   (Chinese: <https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature>):
//!   the canonical request, the RFC 3986 encoding (`%20`, `%2A`, `~`), the header
//!   filter (`host`, `content-type`, `x-acs-*`), the string to sign, the HMAC key,
//!   the `Authorization` format, the 15-minute `x-acs-date` window, the nonce; and its
//!   worked example (RunInstances; hashed canonical request `7ea06492…e259`,
//!   signature `06563a9e…83c0`), which `shengshi-acs-signature`'s
//!   `tests::published_v3_example` checks.
//!   The steps were read in a verbatim copy of that page's signature section.
//! - *SendSms* API reference (Dysmsapi 2017-05-25):
//!   <https://help.aliyun.com/en/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms>
//!   (Chinese: <https://help.aliyun.com/document_detail/55284.html>): the parameters,
//!   the answer, the timeout advice, no idempotence.
//! - Alibaba Cloud's OpenAPI utility of the official SDKs, `get_authorization` in
//!   `aliyun/darabonba-openapi-util` (`python/alibabacloud_openapi_util/client.py`),
//!   and the generated Dysmsapi 2017-05-25 SDK (`SendSms`: POST, path `/`, RPC
//!   style, parameters in the query).
//! - Gateway error codes (`InvalidTimeStamp.Expired` — more than 15 minutes,
//!   `SignatureNonceUsed`, `SignatureDoesNotMatch`, `InvalidAccessKeyId.NotFound`,
//!   `Throttling.User`, all HTTP 400): the common API error table, e.g.
//!   <https://help.aliyun.com/document_detail/48054.html>.
//! - SMS business codes (`isv.BUSINESS_LIMIT_CONTROL`, `isv.MOBILE_NUMBER_ILLEGAL`,
//!   `isv.INVALID_JSON_PARAM` — "JSON parameters take string values", …): the SMS
//!   API error code list.

mod client;
#[cfg(feature = "fake")]
mod fake;
/// The V3 signer, shared with the other Alibaba Cloud adapters (`shengshi-acs-signature`).
pub use shengshi_acs_signature as signature;

pub use client::{
    AliyunSms, AliyunSmsConfig, ConfigError, Options, ACTION, DEFAULT_BACKOFF, DEFAULT_ENDPOINT,
    DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT, REQUIRED_TEMPLATES, VERSION,
};
#[cfg(feature = "fake")]
pub use fake::{FakeAliyunSms, FakeSms, FAKE_SIGN_NAME, FAKE_TEMPLATE_CODE, MAX_CLOCK_SKEW};

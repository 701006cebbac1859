//! Staff members for tests of a running app: added as `shengshi staff add`
//! adds them, logged in with the code their authenticator app would show.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use shengshi_app::staff::{totp, Enrolled, NewStaff, StaffAccounts};
use shengshi_domain::{Clock, Department, Role};
use std::sync::Arc;

use crate::TestApp;

/// Every test staff member's password.
pub const STAFF_PASSWORD: &str = "Correct-horse-42";

/// The TOTP secret inside a provisioning URI (RFC 4648 base32).
pub fn totp_secret(enrolled: &Enrolled) -> Vec<u8> {
    let uri = enrolled.provisioning_uri.expose_secret();
    let encoded = uri
        .split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("secret in URI");
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in encoded.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {c}"),
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The code an authenticator app would show at the clock's time.
pub fn totp_code(enrolled: &Enrolled, clock: &dyn Clock) -> String {
    let seconds = clock.now().unix_millis() / 1000;
    totp::code_for_step(&totp_secret(enrolled), totp::step_at(seconds), totp::DIGITS)
}

impl TestApp {
    /// Adds a staff member to the running app's installation, as `shengshi
    /// staff add` does, with the app's clock.
    pub async fn add_staff(&self, username: &str, department: Department, role: Role) -> Enrolled {
        let config = shengshi::Config {
            data_dir: self.data_dir.clone(),
            database_url: Some(shengshi::config::DatabaseUrl::new(self.db.url().to_owned())),
            ..shengshi::Config::default()
        };
        let (services, _, secrets) =
            shengshi::startup::open_installation(&config, Arc::new(self.clock.clone()))
                .await
                .expect("the installation opens");
        let enrolled = StaffAccounts::new(&services, Arc::new(secrets))
            .add_by_operator(NewStaff {
                username: username.to_owned(),
                display_name: "王芳".to_owned(),
                department,
                role,
                password: SecretString::from(STAFF_PASSWORD.to_owned()),
            })
            .await
            .expect("staff added");
        services.store.close().await;
        enrolled
    }

    /// Logs a staff member in through the API; returns the `staff_sid` token.
    pub async fn staff_login(&self, enrolled: &Enrolled) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/staff/sessions"))
            .json(&json!({
                "username": enrolled.username,
                "password": STAFF_PASSWORD,
                "code": totp_code(enrolled, &self.clock),
            }))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("staff_sid="))
            .and_then(|rest| rest.split(';').next())
            .map(str::to_owned);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "staff login: {body}");
        cookie.expect("a staff_sid cookie")
    }
}

/// Adds a staff member (display name 王芳) and logs them in with password and
/// authenticator code, returning their capabilities. Moves the clock past the
/// TOTP step, so that the next login's code is not a replay.
pub async fn logged_in_member(
    staff: &StaffAccounts,
    clock: &shengshi_domain::FixedClock,
    username: &str,
    department: Department,
    role: Role,
) -> shengshi_app::staff::capability::Capabilities {
    let enrolled = staff
        .add_by_operator(NewStaff {
            username: username.to_owned(),
            display_name: "王芳".to_owned(),
            department,
            role,
            password: SecretString::from(STAFF_PASSWORD.to_owned()),
        })
        .await
        .expect("staff added");
    let member = staff
        .verify_password_and_totp(
            username,
            &SecretString::from(STAFF_PASSWORD.to_owned()),
            &totp_code(&enrolled, clock),
        )
        .await
        .expect("staff login");
    clock.advance(time::Duration::seconds(31));
    shengshi_app::staff::capability::authorize(&member)
}

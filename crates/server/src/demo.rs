//! Demo data: fictional, and only ever in an installation marked as a demo
//! (production refuses such an installation). Each capability adds its own
//! seed here; seeding is idempotent, so restarting a demo changes nothing.

use anyhow::Result;
use shengshi_app::Services;

/// What the demo holds, for the start-up message.
pub async fn seed(_services: &Services) -> Result<()> {
    // The foundation has no resident-facing data of its own yet: real-name
    // identity adds the fictional population registry and its residents.
    Ok(())
}

/// Printed at start-up so a newcomer knows where to go.
pub fn instructions(origin: &str) -> String {
    format!(
        "Demo mode: every resident here is fictional.\n\
         \x20 Home page:      {origin}/\n\
         \x20 API reference:  {origin}/api/docs/\n\
         \x20 Metrics:        {origin}/metrics\n\
         Resident log-in arrives with real-name identity; until then there are no accounts to log in to."
    )
}

//! Secret value types: they print as `[redacted]`, cannot be serialised, and hand out their value only
//! through an explicit `secret()` call, so a token never slips into a log line or an IPC payload.

use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// The secret value itself; every caller of this is a place a secret leaves the type.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// An OAuth 2.0 access token.
    AccessToken
);
secret_type!(
    /// An OAuth 2.0 refresh token.
    RefreshToken
);
secret_type!(
    /// An OpenID Connect ID token (a JWT).
    IdToken
);
secret_type!(
    /// A one-time authorization code from the redirect.
    AuthorizationCode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_value() {
        let t = AccessToken::new("demo_at_supersecret");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        assert_eq!(t.secret(), "demo_at_supersecret");
    }
}

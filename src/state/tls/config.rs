//! The TLS directives, with Redis 7.0's names, defaults and ranges (`tls-auth-clients-user` is Redis
//! 8.6's). Every one may change at run time: `CONFIG SET` rebuilds the contexts
//! (`Tls::configure`) and refuses the change, keeping the running ones, when they do not build.
//! Part of the one configuration (`state::config::directives`).

use crate::state::config::{boolean, c_str, int, text, yes_no, ConfigValues, Directive};

/// `tls-auth-clients`: whether a client on the TLS port must present a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthClients {
    No,
    Yes,
    /// A certificate is asked for and checked when given; a client without one is served too.
    Optional,
}

impl AuthClients {
    pub fn name(self) -> &'static str {
        match self {
            AuthClients::No => "no",
            AuthClients::Yes => "yes",
            AuthClients::Optional => "optional",
        }
    }
}

/// `tls-auth-clients-user`: which field of a client certificate names the ACL user the client is
/// authenticated as when it connects (Redis 8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientsUser {
    Off,
    /// The subject's Common Name.
    Cn,
}

fn path(args: &[&str]) -> Result<String, String> {
    Ok(text(args)?.to_string())
}

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "tls-port",
        default: "0",
        mutable: true,
        protected: false,
        help: "TCP port of the TLS listener, on every bind address; 0: none. `port 0` with a tls-port serves TLS only. CONFIG SET listens on the new port (building the TLS context first) and stops listening on the old one; connections already made stay.",
        get: |c| c.tls_port.to_string(),
        set: |c, a| {
            c.tls_port = int(a, 0, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-cert-file",
        default: "",
        mutable: true,
        protected: false,
        help: "PEM certificate chain the TLS listener presents (leaf first). CONFIG SET reloads it: new handshakes use the new one, connections already up stay.",
        get: |c| c.tls.cert_file.clone(),
        set: |c, a| {
            c.tls.cert_file = path(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-key-file",
        default: "",
        mutable: true,
        protected: false,
        help: "PEM private key of tls-cert-file: PKCS#8, PKCS#1 (RSA) or SEC1 (EC); encrypted PKCS#8 with tls-key-file-pass.",
        get: |c| c.tls.key_file.clone(),
        set: |c, a| {
            c.tls.key_file = path(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-key-file-pass",
        default: "",
        mutable: true,
        protected: false,
        help: "Password of an encrypted PKCS#8 tls-key-file (BEGIN ENCRYPTED PRIVATE KEY). Keys in OpenSSL's legacy encrypted PEM (Proc-Type: 4,ENCRYPTED) are refused: convert them with `openssl pkcs8 -topk8`.",
        get: |c| c.tls.key_file_pass.clone(),
        set: |c, a| {
            c.tls.key_file_pass = text(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "tls-client-cert-file",
        default: "",
        mutable: true,
        protected: false,
        help: "Certificate this daemon presents when it connects over TLS (peers, the coherence bus). Empty: tls-cert-file, as Redis.",
        get: |c| c.tls.client_cert_file.clone(),
        set: |c, a| {
            c.tls.client_cert_file = path(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-client-key-file",
        default: "",
        mutable: true,
        protected: false,
        help: "Private key of tls-client-cert-file.",
        get: |c| c.tls.client_key_file.clone(),
        set: |c, a| {
            c.tls.client_key_file = path(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-client-key-file-pass",
        default: "",
        mutable: true,
        protected: false,
        help: "Password of an encrypted PKCS#8 tls-client-key-file.",
        get: |c| c.tls.client_key_file_pass.clone(),
        set: |c, a| {
            c.tls.client_key_file_pass = text(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "tls-ca-cert-file",
        default: "",
        mutable: true,
        protected: false,
        help: "PEM file of the CA certificates trusted for client certificates and for the servers this daemon connects to over TLS.",
        get: |c| c.tls.ca_cert_file.clone(),
        set: |c, a| {
            c.tls.ca_cert_file = path(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-ca-cert-dir",
        default: "",
        mutable: true,
        protected: false,
        help: "Directory of trusted CA certificates: every PEM certificate of every file in it (OpenSSL's hashed names are not needed).",
        get: |c| c.tls.ca_cert_dir.clone(),
        set: |c, a| {
            c.tls.ca_cert_dir = path(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-auth-clients",
        default: "yes",
        mutable: true,
        protected: false,
        help: "yes: a client on the TLS port must present a certificate signed by a trusted CA; optional: checked when given; no: not asked for.",
        get: |c| c.tls.auth_clients.name().to_string(),
        set: |c, a| {
            c.tls.auth_clients = match text(a)?.to_ascii_lowercase().as_str() {
                "no" => AuthClients::No,
                "yes" => AuthClients::Yes,
                "optional" => AuthClients::Optional,
                _ => return Err("argument(s) must be one of the following: no, yes, optional".into()),
            };
            Ok(())
        },
    },
    Directive {
        name: "tls-auth-clients-user",
        default: "off",
        mutable: true,
        protected: false,
        help: "CN: a client whose certificate's Common Name names an existing enabled ACL user is authenticated as that user when it connects (as Redis 8.6); off: certificates authenticate nobody.",
        get: |c| match c.tls.clients_user {
            ClientsUser::Off => "off".into(),
            ClientsUser::Cn => "CN".into(),
        },
        set: |c, a| {
            c.tls.clients_user = match text(a)?.to_ascii_lowercase().as_str() {
                "off" => ClientsUser::Off,
                "cn" => ClientsUser::Cn,
                _ => return Err("argument(s) must be one of the following: off, CN".into()),
            };
            Ok(())
        },
    },
    Directive {
        name: "tls-protocols",
        default: "",
        mutable: true,
        protected: false,
        help: "TLS versions allowed, space separated: TLSv1.2 TLSv1.3 (empty: both). TLSv1 and TLSv1.1 are refused: rustls does not implement them.",
        get: |c| c.tls.protocols.clone(),
        set: |c, a| {
            c.tls.protocols = c_str(&a.join(" ")).to_string();
            Ok(())
        },
    },
    Directive {
        name: "tls-ciphers",
        default: "",
        mutable: true,
        protected: false,
        help: "TLSv1.2 suites in OpenSSL's names, colon separated, in order of preference (ECDHE-ECDSA-AES256-GCM-SHA384, ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-CHACHA20-POLY1305...); DEFAULT, HIGH or ALL: every suite rustls has; !NAME removes one. Empty: rustls's defaults.",
        get: |c| c.tls.ciphers.clone(),
        set: |c, a| {
            c.tls.ciphers = c_str(&a.join(" ")).to_string();
            Ok(())
        },
    },
    Directive {
        name: "tls-ciphersuites",
        default: "",
        mutable: true,
        protected: false,
        help: "TLSv1.3 suites, colon separated, in order of preference: TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256. Empty: all three.",
        get: |c| c.tls.ciphersuites.clone(),
        set: |c, a| {
            c.tls.ciphersuites = c_str(&a.join(" ")).to_string();
            Ok(())
        },
    },
    Directive {
        name: "tls-prefer-server-ciphers",
        default: "no",
        mutable: true,
        protected: false,
        help: "yes: the suite is chosen in this daemon's order of preference, not the client's.",
        get: |c| yes_no(c.tls.prefer_server_ciphers),
        set: |c, a| {
            c.tls.prefer_server_ciphers = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-cluster",
        default: "no",
        mutable: true,
        protected: false,
        help: "yes: MIGRATE and the cluster's failure probe connect over TLS (as Redis's tls-cluster does for MIGRATE and its cluster links), trusting tls-ca-cert-file/dir and presenting tls-client-cert-file (or tls-cert-file). cachet has no cluster bus to encrypt.",
        get: |c| yes_no(c.tls.cluster),
        set: |c, a| {
            c.tls.cluster = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-session-caching",
        default: "yes",
        mutable: true,
        protected: false,
        help: "yes: clients may resume a TLS session (session IDs for TLSv1.2, tickets for TLSv1.3) and skip the full handshake.",
        get: |c| yes_no(c.tls.session_caching),
        set: |c, a| {
            c.tls.session_caching = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-session-cache-size",
        default: "20480",
        mutable: true,
        protected: false,
        help: "Most TLSv1.2 session IDs kept for resumption, the oldest dropped first (0: OpenSSL's no limit, here 1048576). Tickets are kept by the clients, not counted here.",
        get: |c| c.tls.session_cache_size.to_string(),
        set: |c, a| {
            c.tls.session_cache_size = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "tls-session-cache-timeout",
        default: "300",
        mutable: true,
        protected: false,
        help: "Seconds a TLS session (a TLSv1.2 session ID, or a ticket) stays resumable after it was issued; past it the full handshake is done.",
        get: |c| c.tls.session_cache_timeout.to_string(),
        set: |c, a| {
            c.tls.session_cache_timeout = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
];

/// The `tls-*` values, as written (the contexts are built from them by `Tls::configure`).
#[derive(Debug, Clone)]
pub struct TlsValues {
    pub cert_file: String,
    pub key_file: String,
    pub key_file_pass: String,
    pub client_cert_file: String,
    pub client_key_file: String,
    pub client_key_file_pass: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    pub auth_clients: AuthClients,
    pub clients_user: ClientsUser,
    pub protocols: String,
    pub ciphers: String,
    pub ciphersuites: String,
    pub prefer_server_ciphers: bool,
    pub session_caching: bool,
    pub session_cache_size: usize,
    pub session_cache_timeout: u64,
    /// `tls-cluster`: MIGRATE's and the cluster probe's connections go over TLS.
    pub cluster: bool,
}

impl Default for TlsValues {
    fn default() -> Self {
        TlsValues {
            cert_file: String::new(),
            key_file: String::new(),
            key_file_pass: String::new(),
            client_cert_file: String::new(),
            client_key_file: String::new(),
            client_key_file_pass: String::new(),
            ca_cert_file: String::new(),
            ca_cert_dir: String::new(),
            auth_clients: AuthClients::Yes,
            clients_user: ClientsUser::Off,
            protocols: String::new(),
            ciphers: String::new(),
            ciphersuites: String::new(),
            prefer_server_ciphers: false,
            session_caching: true,
            session_cache_size: 20480,
            session_cache_timeout: 300,
            cluster: false,
        }
    }
}

/// Whether `name` is one of the directives the TLS contexts are built from (or that decide
/// whether they are needed).
pub fn shapes_contexts(name: &str) -> bool {
    let tls = DIRECTIVES
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case(name) && d.name != "tls-auth-clients-user");
    tls || name.eq_ignore_ascii_case("peer-tls") || name.eq_ignore_ascii_case("coherence-bus")
}

/// Whether this daemon needs the TLS contexts built: a TLS listener, or links or MIGRATE
/// connections that use TLS.
pub fn wanted(values: &ConfigValues) -> bool {
    values.tls_port != 0 || values.peer_tls || values.coherence_bus_tls || values.tls.cluster
}

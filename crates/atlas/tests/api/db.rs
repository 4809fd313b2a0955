//! Per-test databases on both backends, and `db_test!` to run one test body on each.
//!
//! SQLite: a fresh file in the test's own working directory. PostgreSQL: a fresh
//! database cloned from a template migrated once per test process by the real
//! `atlas migrate up`, dropped when the test ends. The server comes from
//! `ATLAS_TEST_DATABASE_URL` (scripts/test starts a throwaway cluster).

use std::sync::OnceLock;

use sqlx::{Connection, Executor, PgConnection};

use crate::helpers::{base_env, run};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test. Dropping it drops the PostgreSQL database.
pub struct TestDb {
    pub backend: Backend,
    pub url: Option<String>,
    name: Option<String>,
}

pub fn server_url() -> String {
    match std::env::var("ATLAS_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "ATLAS_TEST_DATABASE_URL is not set: run the suite with `make test` (scripts/test starts a throwaway PostgreSQL)"
        ),
    }
}

fn with_db(url: &str, db: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("a postgres URL with a database");
    format!("{base}/{db}")
}

fn random_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

async fn admin_exec(sql: &str) {
    let mut conn = PgConnection::connect(&server_url())
        .await
        .expect("connect to the test PostgreSQL");
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The migrated template, created once per process.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = random_name("atlas_template");
        let n = name.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(admin_exec(&format!("CREATE DATABASE {n}")));
        })
        .join()
        .unwrap();
        let mut env = base_env();
        env.insert("DATABASE_URL".into(), with_db(&server_url(), &name));
        let (status, _, stderr, _) = run(&["migrate", "up"], &env);
        assert!(status.success(), "migrating the template failed: {stderr}");
        name
    })
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self {
                backend,
                url: None,
                name: None,
            },
            Backend::Postgres => {
                let template = tokio::task::spawn_blocking(template).await.unwrap();
                let name = random_name("atlas_test");
                admin_exec(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await;
                Self {
                    backend,
                    url: Some(with_db(&server_url(), &name)),
                    name: Some(name),
                }
            }
        }
    }

    /// An empty PostgreSQL database (no migrations), for migration tests.
    pub async fn empty_postgres() -> Self {
        let name = random_name("atlas_empty");
        admin_exec(&format!("CREATE DATABASE {name}")).await;
        Self {
            backend: Backend::Postgres,
            url: Some(with_db(&server_url(), &name)),
            name: Some(name),
        }
    }

    /// Environment for the atlas process.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        match &self.url {
            Some(u) => vec![("DATABASE_URL", u.clone())],
            None => vec![],
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            // Drop runs outside async context: a small runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(admin_exec(&format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )));
            })
            .join();
        }
    }
}

/// `db_test!(name, case_fn)`: `name::sqlite` and `name::postgres`, each calling
/// `case_fn(app)` with atlas running on a fresh database of that backend.
#[macro_export]
macro_rules! db_test {
    ($name:ident, $case:ident) => {
        mod $name {
            use $crate::db::{Backend, TestDb};
            use $crate::helpers::TestApp;

            async fn go(backend: Backend) {
                let db = TestDb::new(backend).await;
                assert_eq!(db.backend, backend);
                let env = db.env();
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let app = TestApp::spawn(&env).await;
                super::$case(&app, &db).await;
                drop(app);
                drop(db);
            }

            #[tokio::test]
            async fn sqlite() {
                go(Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                go(Backend::Postgres).await
            }
        }
    };
}

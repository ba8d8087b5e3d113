//! The AWS SDK configuration the relay's clients are built from, tuned for a
//! Lambda cold start.

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once, at cold start.
///
/// Lambda puts credentials and region in the environment; taking them from
/// there, with no profile files, skips the default chains' profile-file and
/// IMDS probes at cold start. `AWS_ENDPOINT_URL(_SNS/_SQS)` are still read.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
        if let Ok(region) = std::env::var("AWS_REGION") {
            #[allow(deprecated)] // aws-config's alias of aws-runtime's EnvConfigFiles
            let no_profile_files = aws_config::profile::profile_file::ProfileFiles::builder()
                .with_contents(aws_config::profile::profile_file::ProfileFileKind::Config, "")
                .build();
            loader = loader
                .region(aws_config::Region::new(region))
                .profile_files(no_profile_files);
        }
    }
    // The SDK's HTTPS client loads the system's root certificates at cold start:
    // with neither SSL_CERT_FILE nor SSL_CERT_DIR set it reads the CA bundle and
    // then every file of the certificate directory, which holds the same
    // certificates again (on Amazon Linux, the bundle itself). Naming the bundle
    // reads them once: the same roots, about half the init CPU.
    if std::env::var_os("SSL_CERT_FILE").is_none() && std::env::var_os("SSL_CERT_DIR").is_none() {
        let bundles = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];
        if let Some(bundle) = bundles.into_iter().find(|b| std::path::Path::new(b).is_file()) {
            // Called at cold start, before anything else reads the environment.
            std::env::set_var("SSL_CERT_FILE", bundle);
        }
    }
    loader.load().await
}

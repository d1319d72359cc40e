"""What the credential scan finds and what it leaves: real-looking credentials in settings,
URIs, keys and tokens are found, with the file and line and never the value; placeholders,
references to a secret store and code that reads a secret are not."""

import pytest

from shared.credential_scan import credentials_in

# Built at run time so that this file itself holds no credential-shaped text.
PASSWORD = "".join(["hunter", "2-", "correct-horse"])
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"
GITHUB = "ghp_" + "a1" * 18
KEY_BLOCK = "-----BEGIN " + "RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (f"MONGODB_URI=mongodb://kpi:{PASSWORD}@mongo:27017/kpi", "a URI with a password in it"),
        (f"KAFKA_SASL_PASSWORD={PASSWORD}", "a literal value for the secret 'KAFKA_SASL_PASSWORD'"),
        (f"  password: '{PASSWORD}'", "a literal value for the secret 'password'"),
        (f'{{"api_key": "{PASSWORD}"}}', "a literal value for the secret 'api_key'"),
        (f"KPI_PHONE_HASH_KEY: {PASSWORD}", "a literal value for the secret 'KPI_PHONE_HASH_KEY'"),
        (KEY_BLOCK, "a private key"),
        (f"aws = {AWS}", "an AWS access key id"),
        (f"token {GITHUB}", "a GitHub token"),
    ],
)
def test_a_credential_is_found_with_its_line_and_without_its_value(text: str, what: str) -> None:
    (finding,) = credentials_in(f"# config\n{text}\n", "config/org.yaml")
    assert (finding.path, finding.line, finding.what) == ("config/org.yaml", 2, what)
    assert PASSWORD not in str(finding)


@pytest.mark.parametrize(
    "text",
    [
        "KPI_PHONE_HASH_KEY: ${KPI_PHONE_HASH_KEY:?set it in deploy/compose/.env}",
        "KPI_MONGO_PASSWORD=CHANGE_ME",
        "MONGODB_URI=mongodb://kpi:…@mongo:27017/",
        "MONGODB_URI=mongodb://kpi:${KPI_MONGO_PASSWORD}@mongo:27017/",
        "MONGODB_URI=mongodb://127.0.0.1:27017/?retryWrites=false",
        "password: <from your secret store>",
        "  - name: KAFKA_SASL_PASSWORD\n    valueFrom: {secretKeyRef: {name: kafka, key: pw}}",
        "password: short",
        "KAFKA_SASL_PASSWORD=",
    ],
)
def test_placeholders_and_references_are_no_credentials(text: str) -> None:
    assert list(credentials_in(text, "deploy/compose/.env.example")) == []


def test_in_source_code_only_a_quoted_literal_counts() -> None:
    code = "secret = key.get_secret_value().strip()\npassword = settings.kafka_sasl_password\n"
    assert list(credentials_in(code, "shared/kafka.py")) == []
    (finding,) = credentials_in(f'password = "{PASSWORD}"\n', "shared/kafka.py")
    assert finding.line == 1


def test_a_line_may_say_it_holds_a_fake() -> None:
    line = f'KEY = "{PASSWORD}"  # credential-scan: allow (a test key)'
    assert list(credentials_in(line.replace("KEY", "secret"), "tests/unit/x.py")) == []

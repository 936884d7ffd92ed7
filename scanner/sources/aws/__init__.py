"""AWS through boto3: the session, retries and error mapping (``session``), Secrets Manager and SSM (``stores``),
IAM keys and scopes (``iam``), Lambda and ECS environments (``compute``), classification (``classify``) and the
source that runs them over regions (``source``).

May import: ``scanner.sources.blob``, ``scanner.sources.base``, ``scanner.detect`` and the shared top-level modules.
"""

"""What an import leaves in the upload directory."""

from imports import uploads


def leftover_uploads():
    return sorted(path.name for path in uploads.upload_dir().iterdir())

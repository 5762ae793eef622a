"""Receiving an archive: straight into the private upload directory, in 1 MiB chunks.

Django's default handlers write uploads to the system's temporary directory in 64 KiB chunks;
the file would then be copied again (another file system) before its job could read it. This
handler writes it once, where it will wait for its job (imports/uploads.py).
"""

import uuid

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from imports import uploads


class StoredArchive(UploadedFile):
    def __init__(self, path, name, content_type, size, charset):
        super().__init__(open(path, "rb"), name, content_type, size, charset)  # noqa: SIM115
        self.path = path

    def temporary_file_path(self):
        return str(self.path)

    def discard(self):
        self.close()
        self.path.unlink(missing_ok=True)


class ArchiveUploadHandler(FileUploadHandler):
    chunk_size = 1 << 20

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.path = uploads.upload_dir() / f"{uuid.uuid4().hex}{uploads.INCOMING_SUFFIX}"
        self.file = open(self.path, "wb")  # noqa: SIM115 - closed in file_complete

    def receive_data_chunk(self, raw_data, start):
        self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.close()
        return StoredArchive(self.path, self.file_name, self.content_type, file_size, self.charset)

    def upload_interrupted(self):
        if hasattr(self, "file"):
            self.file.close()
            self.path.unlink(missing_ok=True)

"""Helpers shared by the tests, the browser tests and the benchmark and load-test scripts.

Import them as `from tests.support.<module> import ...`; fixtures stay in `tests/conftest.py`.

* `database`: the test database URL, emptying and resetting it.
* `world`: `PASSWORD`, `make_user`, `build_world` (two schools, every kind of visitor), `login`.
* `queries`: counting the SQL statements of a block or a page.
* `files`: file contents (PDFs, images) and the text of a PDF.
* `documents`: a stored document row, an upload over HTTP.
* `content`: a filled portfolio touching every table (lifecycle, portability, audit).
* `pdf_fixtures`: a full portfolio of every entry kind (PDF tests, PDF benchmark).
* `pdf_glyphs`: the glyphs and fonts a PDF shows (.notdef, Arabic joining, subsetting).
* `entry_forms`: POST data for every entry kind, a school's qualities.
* `matrix`: visitors, marked content, form parsing, checksums and fresh reads (`row`, `rows`,
  `job_of`) of the access matrix.
* `servers`: free ports, waiting for a process to listen, a throwaway Redis.
* `smtp`: a real SMTP server (aiosmtpd) that collects mail; reading a mail's parts and links.
* `jobs`: running queued tasks here and now; following a job from its start page.
* `pgserver`: a throwaway PostgreSQL (also a script: `python tests/support/pgserver.py`).
"""

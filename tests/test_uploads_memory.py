"""Peak memory of the upload check, measured in a fresh process (issue 16, item 5).

Before: a 230 KB PNG of 7,700 x 7,700 pixels took a worker to 1.37 GB for 5.4 s. Now a
picture over the pixel limit is refused from its header, and the largest allowed PNG
(every pixel decoded, 4 bytes each) and a large camera JPEG stay under 300 MB."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.support.files import png_of_size

#: The check of one file in a new interpreter: the highest resident memory while it runs,
#: above what the process held before (Linux: writing 5 to clear_refs resets VmHWM).
MEASURE = textwrap.dedent(
    """
    import json, sys, time
    from portfolio.documents.uploads import UploadError, check_upload

    def status(key):
        with open("/proc/self/status") as lines:
            return next(int(ln.split()[1]) for ln in lines if ln.startswith(key + ":"))

    data = open(sys.argv[1], "rb").read()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status("VmRSS")
    started = time.monotonic()
    try:
        outcome = check_upload(data, "upload").mime_type
    except UploadError as error:
        outcome = error
    seconds, peak = time.monotonic() - started, status("VmHWM")
    if isinstance(outcome, UploadError):  # translating loads Babel's data: not counted
        outcome = "refused: " + str(outcome.message)
    print(json.dumps({"mb": (peak - before) / 1024, "s": seconds, "outcome": outcome}))
    """
)
#: A camera-sized JPEG made in its own process (the test worker never holds the pixels).
MAKE_JPEG = textwrap.dedent(
    """
    import sys
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (7300, 5470), (246, 242, 230))
    draw = ImageDraw.Draw(img)
    for y in range(0, 5470, 45):
        draw.line([(0, y), (7300, 5470 - y)], fill=(30, 40, 90), width=3)
    img.save(sys.argv[1], "JPEG", quality=92, progressive=sys.argv[2] == "progressive")
    """
)


def measure(path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout)
    print(f"{path.name}: {result}")  # the figures, with pytest -s
    return result


@pytest.mark.slow
def test_decompression_bomb_png_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb-60mpx.png"
    bomb.write_bytes(png_of_size(7746, 7746))  # 60 Mpx, 240 MB decoded, 0.2 MB on disk
    result = measure(bomb)
    assert result["outcome"].startswith("refused: The picture has too many pixels")
    assert result["mb"] < 20 and result["s"] < 2


@pytest.mark.slow
def test_largest_allowed_png_stays_under_300_mb(tmp_path):
    largest = tmp_path / "largest-40mpx.png"
    largest.write_bytes(png_of_size(7300, 5470))  # 39.9 Mpx RGBA: 160 MB decoded
    result = measure(largest)
    assert result["outcome"] == "image/png"
    assert result["mb"] < 300


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["baseline", "progressive"])
def test_large_camera_jpeg_stays_under_300_mb(tmp_path, kind):
    photo = tmp_path / f"camera-40mpx-{kind}.jpg"
    subprocess.run([sys.executable, "-c", MAKE_JPEG, str(photo), kind], check=True)
    result = measure(photo)
    assert result["outcome"] == "image/jpeg"
    assert result["mb"] < 300

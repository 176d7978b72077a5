"""File contents for uploads and documents, and the text of a PDF."""

from __future__ import annotations

import io
import subprocess

#: The smallest file that starts like a PDF (stored as is, never parsed).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: A PNG signature followed by junk (stored as is, never decoded).
PNG = bytes.fromhex("89504e470d0a1a0a") + b"not really an image but bytes"


def png_bytes(width: int = 800, height: int = 500, colour=(79, 143, 208)) -> bytes:
    """A real PNG image with a few diagonal lines."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    for i in range(0, width, 40):
        draw.line([(i, 0), (width - i, height)], fill=(255, 255, 255), width=3)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def png_with_gps(size=(60, 40)) -> bytes:
    """A PNG carrying a camera make and a GPS position in its EXIF data."""
    from PIL import ExifTags, Image

    img = Image.new("RGB", size, (200, 30, 30))
    exif = img.getexif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (50.0, 52.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (8.0, 1.0, 12.0)
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=exif)
    return buf.getvalue()


def jpeg_bytes(width: int = 2400, height: int = 3300) -> bytes:
    """A real JPEG the size of a scanned A4 page."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    for y in range(100, height, 60):
        draw.line([(150, y), (width - 150, y)], fill=(40, 40, 40), width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def blank_pdf(pages: int = 1) -> bytes:
    """A valid PDF of blank A4 pages."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def pdf_bytes(text: str = "Praktikumsbescheinigung") -> bytes:
    """A small one-page PDF with text (made with WeasyPrint itself)."""
    from weasyprint import HTML

    return HTML(string=f"<p>{text}</p>").write_pdf()


def pdf_text(data: bytes) -> str:
    """The text of a PDF as `pdftotext` (poppler-utils) reads it."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


#: Bytes of the file embedded in `hostile_pdf`: never to be found in a cleaned PDF.
PAYLOAD_MARK = b"EMBEDDED-PAYLOAD-7f3a"
#: What `pdf_hazards` reports: keys that hold scripts, actions, files or XFA forms ...
HAZARD_KEYS = frozenset(
    {"/JS", "/JavaScript", "/AA", "/OpenAction", "/EmbeddedFiles", "/EF", "/XFA"}
)
#: ... and actions and annotations that run, reach outside or carry something.
HAZARD_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/Rendition"}
)
HAZARD_ANNOTATIONS = frozenset({"/FileAttachment", "/Screen", "/Movie", "/Sound", "/RichMedia"})


def hostile_pdf(*, object_streams: bool = False) -> bytes:
    """A one-page certificate that carries every kind of active content: scripts at
    opening, closing and in the name tree, a launch and a remote action on the page, a
    `javascript:` link, a script chained after a harmless link, a form field with a
    keystroke script, an XFA form, a bookmark script, an embedded .exe and a file
    attachment annotation. A web link and the page text are the harmless parts.
    With `object_streams`, the objects hide in compressed object streams."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0].obj
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    page.Resources = Dictionary(Font=Dictionary(F1=pdf.make_indirect(font)))
    page.Contents = pdf.make_stream(b"BT /F1 24 Tf 72 760 Td (Teilnahmebescheinigung) Tj ET")

    def js(code: str):
        return Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String(code))

    def annot(subtype, **keys):
        rect = Array([72, 600, 300, 620])
        return pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=subtype, Rect=rect, **keys))

    pdf.Root.OpenAction = pdf.make_indirect(js("app.alert('opened')"))
    pdf.Root.AA = Dictionary(WC=js("app.alert('closing')"))
    scripts = Array([String("init"), pdf.make_indirect(js("app.alert('init')"))])
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=scripts))
    pdf.attachments["setup.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ" + PAYLOAD_MARK)
    page.AA = Dictionary(O=Dictionary(S=Name.Launch, F=String("cmd.exe")))
    web = Dictionary(S=Name.URI, URI=String("https://www.arbeitsagentur.de/"))
    chained = Dictionary(
        S=Name.GoTo,
        D=Array([page, Name.Fit]),
        Next=Array([js("app.alert('next')"), Dictionary(S=Name.SubmitForm, F=String("x"))]),
    )
    embedded = Dictionary(
        Type=Name.Filespec,
        F=String("payload.exe"),
        EF=Dictionary(F=pdf.make_stream(b"MZ" + PAYLOAD_MARK, Type=Name.EmbeddedFile)),
    )
    widget = annot(
        Name.Widget,
        FT=Name.Tx,
        T=String("name"),
        P=page,
        AA=Dictionary(K=js("app.alert('typed')")),
    )
    page.Annots = Array(
        [
            annot(Name.Link, A=web),
            annot(Name.Link, A=Dictionary(S=Name.URI, URI=String("javascript:app.alert(1)"))),
            annot(Name.Link, A=chained),
            annot(Name.Link, A=Dictionary(S=Name.GoToR, F=String("\\\\host\\share\\x.pdf"))),
            annot(Name.FileAttachment, FS=embedded),
            widget,
        ]
    )
    xfa = pdf.make_stream(b"<xdp:xdp><script>app.alert('xfa')</script></xdp:xdp>")
    pdf.Root.AcroForm = Dictionary(Fields=Array([widget]), XFA=xfa)
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(
        Dictionary(Title=String("Start"), Parent=outlines, A=js("app.alert('bookmark')"))
    )
    outlines.First = outlines.Last = item
    pdf.Root.Outlines = outlines
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    pdf.save(out, compress_streams=object_streams, object_stream_mode=mode)
    return out.getvalue()


def _stream_bytes(stream) -> bytes:
    """A stream's data, decoded where pikepdf can (images such as JPEG stay encoded)."""
    import pikepdf

    try:
        return stream.read_bytes()
    except pikepdf.PdfError:
        return stream.read_raw_bytes()


def pdf_hazards(data: bytes) -> set[str]:
    """Everything in a PDF, reachable from its trailer, that could run or carry something
    (keys, actions, annotations, links other than web and mail), and whether any stream
    holds the payload of `hostile_pdf`. Written for the tests, apart from the cleaning."""
    import pikepdf

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pending = [pdf.trailer]
        while pending:
            obj = pending.pop()
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream):
                if obj.is_indirect:
                    if obj.objgen in seen:
                        continue
                    seen.add(obj.objgen)
            if isinstance(obj, pikepdf.Array):
                pending.extend(obj)
                continue
            if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                continue
            found |= HAZARD_KEYS & set(obj.keys())
            action, subtype = str(obj.get("/S", "")), str(obj.get("/Subtype", ""))
            if action in HAZARD_ACTIONS:
                found.add(action)
            if action == "/URI" and not str(obj.get("/URI", "")).startswith(
                ("http://", "https://", "mailto:")
            ):
                found.add("unsafe /URI")
            if subtype in HAZARD_ANNOTATIONS:
                found.add(subtype)
            if isinstance(obj, pikepdf.Stream) and PAYLOAD_MARK in _stream_bytes(obj):
                found.add("payload")
            pending.extend(obj.get(key) for key in obj.keys())
    return found


def png_of_size(width: int, height: int) -> bytes:
    """A PNG of `width` x `height` transparent RGBA pixels (4 bytes each when decoded),
    compressed row by row: a 60 Mpx decompression bomb is 0.2 MB and never held whole."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = bytes(1 + 4 * width)  # filter byte 0, then the pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )

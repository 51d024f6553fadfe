"""Read back a PDF that OMERO.figure's export made from tests/unit/fixtures/figure/two-panel-figure.json through
tests/support/figure_export_harness.py (unit test and the omero_server scenario), with pypdf: the figure's labels
on page 1 with its two image panels holding the stubbed rendering, and the info page with the figure's name,
its legend (markdown rendered) and the image's link."""
import io
import pathlib

import pypdf

FIGURE = pathlib.Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "figure" / "two-panel-figure.json"
HARNESS = pathlib.Path(__file__).resolve().with_name("figure_export_harness.py")
RENDER_RGB = (200, 30, 60)  # figure_export_harness.RENDER_RGB: the colour of every rendered plane


def read_pdf(data):
    """[(text, [(width, height, centre RGB), ...]) per page]."""
    pages = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        images = []
        for image in page.images:
            img = image.image.convert("RGB")
            images.append((img.size[0], img.size[1], img.getpixel((img.size[0] // 2, img.size[1] // 2))))
        pages.append((page.extract_text(), images))
    return pages


def check_figure_pdf(data):
    """Assert what the fixture's figure must show; returns the pages read."""
    pages = read_pdf(data)
    assert len(pages) == 2, pages  # the figure's one page, then its info page
    text, images = pages[0]
    for label in ("Prophase HeLa A1", "H2B-GFP", "Metaphase zoomed", "2 µm"):  # panel labels, scalebar label
        assert label in text, (label, text)
    # Panel 1: the whole 64x48 plane; panel 2: zoom 200 %, so the centre quarter, 32x24. Both the stub's render.
    assert sorted(images) == [(32, 24, RENDER_RGB), (64, 48, RENDER_RGB)], images
    info, thumbs = pages[1]
    for line in ("Mitosis in HeLa cells", "Cells imaged live; see the lab page.", "hela-mitosis.ome.tiff",
                 "https://omero.example.org/webclient/?show=image-1"):
        assert line in info, (line, info)
    assert "**" not in info  # the legend went through markdown
    assert len(thumbs) == 1 and thumbs[0][:2] == (96, 96), thumbs  # the image's thumbnail (JPEG, 96x96)
    return pages

"""SVG elements with their numbers written at a fixed precision, so the same plan always
draws the same bytes; ElementTree escapes every text and attribute, and what XML cannot hold
at all (a control character in a name stored before R15) is replaced first."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.printable import xml_text

SVG_NS = "http://www.w3.org/2000/svg"


def sub(
    parent: ET.Element, tag: str, attrib: dict[str, str], text: str | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def rect(
    parent: ET.Element,
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    fill: str,
    cls: str | None = None,
    rx: float | None = None,
) -> ET.Element:
    attrib = {
        "x": f"{x:.1f}",
        "y": f"{y:.1f}",
        "width": f"{width:.1f}",
        "height": f"{height:.1f}",
        "fill": fill,
    }
    if cls:
        attrib["class"] = cls
    if rx is not None:
        attrib["rx"] = str(rx)
    return sub(parent, "rect", attrib)


def line(
    parent: ET.Element,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    stroke: str,
    width: str = "1",
    dash: str | None = None,
    cls: str | None = None,
) -> ET.Element:
    attrib = {
        "x1": f"{x1:.2f}",
        "y1": f"{y1:.1f}",
        "x2": f"{x2:.2f}",
        "y2": f"{y2:.1f}",
        "stroke": stroke,
        "stroke-width": width,
    }
    if dash:
        attrib["stroke-dasharray"] = dash
    if cls:
        attrib["class"] = cls
    return sub(parent, "line", attrib)

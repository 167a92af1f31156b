#!/usr/bin/env python3
"""Repack Debian's pure-Python python3-* .debs as wheels, plus a PEP 503 index.

usage: repack.py OUTDIR DEB...  ->  OUTDIR/wheels/*.whl, OUTDIR/simple/**/index.html
"""
import base64
import hashlib
import html
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile

SITE = "usr/lib/python3/dist-packages"
# Fixed timestamps: the same .debs always give byte-identical wheels (stable #sha256).
STAMP = (1980, 1, 1, 0, 0, 0)
# Metadata pip writes itself at install time, or that only setuptools' egg-info uses.
SKIP = {"PKG-INFO", "METADATA", "requires.txt", "SOURCES.txt", "dependency_links.txt",
        "INSTALLER", "WHEEL", "RECORD", "REQUESTED", "direct_url.json"}


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], check=True,
                          capture_output=True, text=True).stdout.strip()


def header(meta, key):
    m = re.search(rf"^{key}: *(.*)$", meta.split("\n\n", 1)[0], re.M)
    return m and m.group(1).strip()


def requires_dist(requires_txt):
    """setuptools' requires.txt ([extra:marker] sections) as Requires-Dist lines."""
    out, section = [], ""
    for line in requires_txt.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line[1:-1]
        elif line:
            extra, _, marker = section.partition(":")
            conds = ([f"({marker})"] if marker else []) + ([f'extra == "{extra}"'] if extra else [])
            out.append(f"Requires-Dist: {line}" + ("; " + " and ".join(conds) if conds else ""))
    return out


def metadata(info):
    """METADATA (Metadata-Version 2.1, which every pip in sight reads) from egg-/dist-info."""
    egg = info.suffix == ".egg-info"
    head, _, body = (info / ("PKG-INFO" if egg else "METADATA")).read_text().partition("\n\n")
    lines = ["Metadata-Version: 2.1"]
    for line in head.splitlines():
        key = line.split(":", 1)[0]
        if key in ("Metadata-Version", "Dynamic"):
            continue
        lines.append(line.replace("License-Expression:", "License:", 1))
    if egg and (info / "requires.txt").exists():
        lines += requires_dist((info / "requires.txt").read_text())
    return "\n".join(lines) + "\n\n" + body


def b64digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack(deb, wheels):
    package, debver = deb_field(deb, "Package"), deb_field(deb, "Version")
    if deb_field(deb, "Architecture") != "all":
        sys.exit(f"{deb}: not Architecture: all, a py3-none-any wheel would lie")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        site = pathlib.Path(tmp, SITE)
        [info] = [p for p in site.iterdir() if p.suffix in (".egg-info", ".dist-info")]
        meta = metadata(info)
        name, version = header(meta, "Name"), header(meta, "Version")
        dist = re.sub(r"[-_.]+", "_", name).lower()
        distinfo = f"{dist}-{version}.dist-info"
        files = {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*"))
                 if p.is_file() and info not in p.parents
                 and "__pycache__" not in p.parts and p.suffix != ".pyc"}
        files.update({f"{distinfo}/{p.name}": p.read_bytes() for p in sorted(info.iterdir())
                      if p.is_file() and p.name not in SKIP})
    files[f"{distinfo}/METADATA"] = meta.encode()
    files[f"{distinfo}/WHEEL"] = (
        "Wheel-Version: 1.0\n"
        f"Generator: sessionctl repack.py ({package} {debver})\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n").encode()
    record = [f"{n},sha256={b64digest(d)},{len(d)}" for n, d in files.items()]
    files[f"{distinfo}/RECORD"] = ("\n".join(record + [f"{distinfo}/RECORD,,"]) + "\n").encode()

    whl = wheels / f"{dist}-{version}-py3-none-any.whl"
    if whl.exists():
        sys.exit(f"{deb}: {whl.name} already built from another .deb")
    with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            zi = zipfile.ZipInfo(n, STAMP)
            zi.external_attr, zi.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
            z.writestr(zi, d)
    print(f"{package} {debver} -> {whl.name}")
    return name, whl, header(meta, "Requires-Python")


def page(title, links):
    return ("<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\">"
            f"<title>{title}</title></head><body>\n" + "".join(f"{a}<br>\n" for a in links)
            + "</body></html>\n")


def main(out, debs):
    wheels, simple = out / "wheels", out / "simple"
    wheels.mkdir(parents=True)
    projects = {}
    for deb in debs:
        name, whl, requires_python = repack(deb, wheels)
        projects.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append((whl, requires_python))
    for project, builds in projects.items():
        links = []
        for whl, rp in builds:
            rp = f' data-requires-python="{html.escape(rp)}"' if rp else ""
            sha = hashlib.sha256(whl.read_bytes()).hexdigest()
            links.append(f'<a href="../../wheels/{whl.name}#sha256={sha}"{rp}>{whl.name}</a>')
        (simple / project).mkdir(parents=True)
        (simple / project / "index.html").write_text(page(f"Links for {project}", links))
    (simple / "index.html").write_text(
        page("Simple index", [f'<a href="{p}/">{p}</a>' for p in sorted(projects)]))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]), sys.argv[2:])

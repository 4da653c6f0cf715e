#!/usr/bin/env bash
# Make sure PostgreSQL server binaries and PostGIS are installed (apt, when we are root on
# Debian), and Pango and fonts for the PDF profiles; otherwise say exactly what to install.
# Prints nothing when all is there.
# With --browser also what the tests and benchmarks drive: Debian's chromium, and poppler's
# pdftotext/pdftoppm that read the PDF profiles back, GDAL's ogrinfo and QGIS (PyQGIS).
set -euo pipefail

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $* (apt)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

if [ "${1:-}" = "--browser" ] && ! command -v pdftoppm >/dev/null; then
  apt_install poppler-utils
  command -v pdftoppm >/dev/null || {
    echo "error: the profile tests need poppler: sudo apt-get install poppler-utils" >&2
    exit 1
  }
fi

# WeasyPrint (PDF profiles) loads Pango at run time; DejaVu is the documents' font
if ! ldconfig -p 2>/dev/null | grep "libpangoft2-1.0.so.0" >/dev/null \
  || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  apt_install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
  if ! ldconfig -p 2>/dev/null | grep "libpangoft2-1.0.so.0" >/dev/null; then
    echo "error: PDF profiles need Pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium (apt)…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "error: the browser tests need chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi

# the GIS clients the tests drive: GDAL 3.6's ogrinfo and QGIS (PyQGIS of Debian's python3)
if [ "${1:-}" = "--browser" ] \
  && { ! [ -x /usr/bin/ogrinfo ] || ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null; }; then
  apt_install gdal-bin qgis qgis-providers python3-qgis
  if ! [ -x /usr/bin/ogrinfo ] || ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null; then
    echo "error: the GIS client tests need: sudo apt-get install gdal-bin qgis python3-qgis" >&2
    exit 1
  fi
fi

pg_version() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$initdb" ] && basename "$(dirname "$(dirname "$initdb")")"
}

have_postgis() {
  local version
  version=$(pg_version) || return 1
  [ -f "/usr/share/postgresql/${version}/extension/postgis.control" ]
}

if [ -n "${SOZIALRAUM_DATABASE_URL:-${DATABASE_URL:-}}" ] || have_postgis; then
  exit 0
fi

version=$(pg_version || echo 15)
packages="postgresql-${version} postgresql-${version}-postgis-3"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${packages} (apt)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ${packages} >/dev/null
  have_postgis && exit 0
fi
echo "error: PostgreSQL with PostGIS is needed. Install it, e.g.: sudo apt-get install ${packages}" >&2
echo "       or point SOZIALRAUM_DATABASE_URL at an existing PostGIS database." >&2
exit 1

"""Region profiles: what a region's profile contains, its pictures, and its HTML and PDF
documents."""

"""The analysis layer: indicators, aggregation, classification, crosswalks, and the thematic
layers (regions, choropleths, facilities, projects) that the web serves."""

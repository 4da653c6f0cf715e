"""Records that coordinators keep: projects (drawn on the map, assigned to regions), contacts with
consent, participation events and their indicators, and the history of every change."""

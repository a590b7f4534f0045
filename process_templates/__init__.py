"""Process templates as people write and share them: YAML read safely, the built-in templates
shipped with the package. The models and their rules are the domain's (domain/templates.py);
an organisation's own templates are kept in the contact directory (directory/templates.py)."""

"""{{ cookiecutter.description|replace('\\', '/')|replace('"', "'") }}"""

"""The package's build compiles the message catalogues (texts/catalogues/<lang>/LC_MESSAGES/
messages.po into messages.mo, which texts/i18n.py reads): an installed Alliance always has them.
Everything else about the package is in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogues(build_py):
    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(Path("texts/catalogues").glob("*/LC_MESSAGES/messages.po")):
            with po.open("rb") as f:
                catalogue = read_po(f, locale=po.parts[-3])
            with po.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalogue)
        super().run()


setup(cmdclass={"build_py": BuildPyWithCatalogues})

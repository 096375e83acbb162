"""Molecule: structure files stored as they are; SMILES and RDKit molecules (RDKit optional)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import file_extension, is_file, is_path, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore

FORMATS = ("pdb", "pqr", "mmcif", "mcif", "cif", "sdf", "sd", "gro", "mol2", "mmtf")


class Molecule(Media):
    """A molecule, logged as wandb's ``molecule-file``.

    ``Molecule(data_or_path, caption=None, file_type=None)``: a path or open file in one of
    pdb, pqr, mmcif, mcif, cif, sdf, sd, gro, mol2, mmtf (``file_type=`` for an
    ``io.BytesIO``), stored byte for byte. ``Molecule.from_smiles(...)`` and
    ``Molecule.from_rdkit(...)`` need RDKit.
    """

    _type = "molecule-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, file_type: str | None = None):
        self._caption = None if caption is None else str(caption)
        if not (is_path(data_or_path) or is_file(data_or_path)):
            raise MediaTypeError(
                f"Molecule() takes a path or an open file ({', '.join(FORMATS)}) as data_or_path, "
                f"not {type(data_or_path).__name__}; use Molecule.from_smiles() or Molecule.from_rdkit() for others"
            )
        data, name = read_source(data_or_path, "Molecule()")
        ext = file_extension(name, file_type, FORMATS, "Molecule()", "molecule file")
        if not data.strip():
            raise MediaError(f"Molecule(): {name or 'the file'} is empty")
        self._bytes, self._ext = data, ext

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        value = {"_type": "molecule-file", **store.put(self._bytes, self._ext)}
        if self._caption is not None:
            value["caption"] = self._caption
        return value

    @classmethod
    def from_rdkit(
        cls,
        data_or_path: Any,
        caption: str | None = None,
        convert_to_3d_and_optimize: bool = True,
        mmff_optimize_molecule_max_iterations: int = 200,
    ) -> Molecule:
        """From an ``rdkit.Chem.Mol`` (or a ``.mol``/``.sdf`` file RDKit reads), stored as PDB."""
        Chem, AllChem = _rdkit()
        mol = data_or_path
        if is_path(mol):
            path = os.fspath(mol)
            if not os.path.isfile(path):
                raise MediaError(
                    f"Molecule.from_rdkit(): {data_or_path!r} is neither an rdkit.Chem.Mol nor the path of "
                    "an existing .mol or .sdf file; pass one of those"
                )
            try:
                mol = (
                    Chem.MolFromMolFile(path)
                    if path.endswith(".mol")
                    else next(iter(Chem.SDMolSupplier(path)), None)
                )
            except OSError as exc:
                raise MediaError(
                    f"Molecule.from_rdkit(): RDKit could not read {data_or_path!r}: {exc}"
                ) from None
            if mol is None:
                raise MediaError(f"Molecule.from_rdkit(): RDKit could not read {data_or_path!r}")
        if not isinstance(mol, Chem.Mol):
            raise MediaTypeError(
                f"Molecule.from_rdkit() takes an rdkit.Chem.Mol or a .mol/.sdf path, not {type(mol).__name__}"
            )
        if convert_to_3d_and_optimize:
            mol = Chem.AddHs(mol)
            AllChem.EmbedMolecule(mol)
            AllChem.MMFFOptimizeMolecule(mol, maxIters=mmff_optimize_molecule_max_iterations)
        import io

        return cls(io.BytesIO(Chem.MolToPDBBlock(mol).encode()), caption=caption, file_type="pdb")

    @classmethod
    def from_smiles(
        cls,
        data: str,
        caption: str | None = None,
        sanitize: bool = True,
        convert_to_3d_and_optimize: bool = True,
        mmff_optimize_molecule_max_iterations: int = 200,
    ) -> Molecule:
        """From a SMILES string, through RDKit, stored as PDB."""
        Chem, _ = _rdkit()
        mol = Chem.MolFromSmiles(data, sanitize=sanitize)
        if mol is None:
            raise MediaError(
                f"Molecule.from_smiles(): {data!r} is not a SMILES string RDKit can parse"
            )
        return cls.from_rdkit(
            mol,
            caption=caption,
            convert_to_3d_and_optimize=convert_to_3d_and_optimize,
            mmff_optimize_molecule_max_iterations=mmff_optimize_molecule_max_iterations,
        )


def _rdkit():
    try:
        from rdkit import Chem
        from rdkit.Chem import AllChem
    except ImportError:
        raise MediaError(
            "Molecule.from_smiles() and from_rdkit() need RDKit: pip install rdkit"
        ) from None
    return Chem, AllChem

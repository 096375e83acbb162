"""Molecule: structure files stored byte for byte."""

from __future__ import annotations

import io

import pytest

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import FIXTURES, file_of, last


def test_a_pdb_file_is_stored_as_is_and_parses(run):
    with open(FIXTURES / "sample.pdb") as f:
        localrun.log({"protein": localrun.Molecule(f, caption="fragment")})
    value = last(run, "protein")
    assert value["_type"] == "molecule-file" and value["caption"] == "fragment"
    path = file_of(run, value)
    assert path.suffix == ".pdb"
    text = path.read_text()
    assert text == (FIXTURES / "sample.pdb").read_text()
    atoms = [line for line in text.splitlines() if line.startswith("ATOM")]
    assert len(atoms) == 5
    assert float(atoms[1][30:38]) == pytest.approx(0.257)


@pytest.mark.parametrize(
    "ext", ["pdb", "pqr", "mmcif", "mcif", "cif", "sdf", "sd", "gro", "mol2", "mmtf"]
)
def test_every_listed_format_is_accepted(run, tmp_path, ext):
    src = tmp_path / f"m.{ext}"
    src.write_bytes((FIXTURES / "sample.pdb").read_bytes())
    localrun.log({"m": localrun.Molecule(str(src))})
    assert last(run, "m")["path"].endswith(f".{ext}")


def test_bytes_io_with_file_type(run):
    localrun.log({"m": localrun.Molecule(io.BytesIO(b"ATOM\n"), file_type="pdb")})
    assert last(run, "m")["path"].endswith(".pdb")


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (str(FIXTURES / "sample.obj"), MediaError, ".pdb"),
        ("/no/such.pdb", MediaError, "does not exist"),
        (["C"], MediaTypeError, "from_smiles"),
    ],
)
def test_bad_input(data, error, words):
    with pytest.raises(error) as info:
        localrun.Molecule(data)
    assert words in str(info.value)


def test_from_smiles_needs_rdkit_or_works():
    try:
        import rdkit  # noqa: F401
    except ImportError:
        with pytest.raises(MediaError, match="pip install rdkit"):
            localrun.Molecule.from_smiles("CC(=O)O")
    else:
        assert localrun.Molecule.from_smiles("CC(=O)O")._ext == "pdb"


def test_from_smiles_stores_a_pdb_rdkit_reads_back(run):
    Chem = pytest.importorskip("rdkit.Chem")
    localrun.log({"acetic_acid": localrun.Molecule.from_smiles("CC(=O)O", caption="acetic acid")})
    value = last(run, "acetic_acid")
    assert value["path"].endswith(".pdb") and value["caption"] == "acetic acid"
    mol = Chem.MolFromPDBFile(str(file_of(run, value)), removeHs=False)
    assert mol is not None
    assert sorted(a.GetSymbol() for a in mol.GetAtoms() if a.GetSymbol() != "H") == [
        "C",
        "C",
        "O",
        "O",
    ]


def test_from_rdkit_without_3d(run):
    Chem = pytest.importorskip("rdkit.Chem")
    localrun.log(
        {
            "m": localrun.Molecule.from_rdkit(
                Chem.MolFromSmiles("CCO"), convert_to_3d_and_optimize=False
            )
        }
    )
    assert (
        "ATOM" in file_of(run, last(run, "m")).read_text()
        or "HETATM" in file_of(run, last(run, "m")).read_text()
    )


def test_from_smiles_rejects_nonsense():
    pytest.importorskip("rdkit")
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    with pytest.raises(MediaError, match="SMILES"):
        localrun.Molecule.from_smiles("not a molecule((")


def test_from_rdkit_of_a_name_that_is_no_file_is_a_value_error():
    pytest.importorskip("rdkit")
    with pytest.raises(ValueError, match="'bad'"):
        localrun.Molecule.from_rdkit("bad")


def test_from_rdkit_of_a_mol_file(run, tmp_path):
    chem = pytest.importorskip("rdkit.Chem")
    chem.MolToMolFile(chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1"), str(tmp_path / "t.mol"))
    localrun.log({"m": localrun.Molecule.from_rdkit(str(tmp_path / "t.mol"))})
    assert b"HETATM" in file_of(run, last(run, "m")).read_bytes()

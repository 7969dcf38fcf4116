"""The ``.pyi`` stubs describe the compiled kernels completely, and the twins match them.

For every kernel: the public names of the compiled module (classes, functions and constants it
defines; not the names it imports from its ``*_spec`` module) are those of the stub; each class
has the stub's methods and properties; each parameter has the stub's name, default and type
(the type from the signature Cython embeds, ``embedsignature=True``).  The reference twin has the
same names, methods, properties and parameters.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from turnengine._kernels import KERNEL_NAMES, load

KERNELS_DIR = Path(__file__).parent.parent / "turnengine" / "_kernels"

#: Cython argument types -> the stub annotation they must have.
C_SCALARS = {"int": "int", "long long": "int", "bint": "bool", "bool": "bool", "float": "float",
             "double": "float"}
C_DTYPES = {"float": "np.float32", "double": "np.float64", "uint8_t": "np.uint8",
            "int16_t": "np.int16", "int32_t": "np.int32", "int64_t": "np.int64"}


@dataclass
class Param:
    name: str
    has_default: bool
    annotation: str = ""


@dataclass
class StubClass:
    methods: dict[str, list[Param]] = field(default_factory=dict)
    properties: set[str] = field(default_factory=set)


@dataclass
class Stub:
    functions: dict[str, list[Param]] = field(default_factory=dict)
    classes: dict[str, StubClass] = field(default_factory=dict)
    constants: set[str] = field(default_factory=set)

    @property
    def names(self) -> set[str]:
        return set(self.functions) | set(self.classes) | self.constants


def _params(fn: ast.FunctionDef) -> list[Param]:
    args = fn.args.args
    defaults = [False] * (len(args) - len(fn.args.defaults)) + [True] * len(fn.args.defaults)
    out = [Param(a.arg, d, ast.unparse(a.annotation) if a.annotation else "")
           for a, d in zip(args, defaults, strict=True)]
    out += [Param(a.arg, d is not None, ast.unparse(a.annotation) if a.annotation else "")
            for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True)]
    return [p for p in out if p.name != "self"]


def _stub(name: str) -> Stub:
    tree = ast.parse((KERNELS_DIR / f"{name}.pyi").read_text())
    stub = Stub()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            stub.functions[node.name] = _params(node)
        elif isinstance(node, ast.ClassDef):
            cls = stub.classes.setdefault(node.name, StubClass())
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    if any(ast.unparse(d) == "property" for d in item.decorator_list):
                        cls.properties.add(item.name)
                    else:
                        cls.methods[item.name] = _params(item)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    cls.properties.add(item.target.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub.constants.add(node.target.id)
    return stub


def _split_args(text: str) -> list[str]:
    """Split an embedded signature's argument list at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[(" and 1 or (ch in "])" and -1 or 0)
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _embedded(doc: str | None, qualname: str) -> list[tuple[str, str, bool]] | None:
    """``(name, cython type, has default)`` per argument of an embedded signature, or None."""
    first = (doc or "").split("\n", 1)[0]
    m = re.fullmatch(re.escape(qualname) + r"\((.*)\)", first)
    if m is None:
        return None
    out = []
    for arg in _split_args(m.group(1)):
        decl, _, _ = arg.partition("=")
        *ctype, pname = decl.split()
        if pname != "self":
            out.append((pname, " ".join(ctype), "=" in arg))
    return out


def _expected_annotation(ctype: str) -> str | None:
    """What the stub must say for a Cython argument type (None: no constraint)."""
    if ctype in C_SCALARS:
        return C_SCALARS[ctype]
    m = re.fullmatch(r"(?:const )?(\w+)\[[:, ]*::1\]", ctype)
    if m:
        return C_DTYPES[m.group(1)]
    return None


def _compiled_api(name: str):
    mod = load(name, reference=False)
    spec = None
    try:
        spec = importlib.import_module(f"turnengine._kernels.{name}_spec")
    except ImportError:
        pass
    public = set()
    for attr, value in vars(mod).items():
        if attr.startswith("_") or inspect.ismodule(value):
            continue
        if spec is not None and getattr(spec, attr, object()) is value:
            continue  # imported from the spec module, not the kernel's own API
        if callable(value) and getattr(value, "__module__", None) != mod.__name__:
            continue
        public.add(attr)
    return mod, public


def _class_members(cls) -> tuple[set[str], set[str]]:
    methods, props = set(), set()
    for attr, value in vars(cls).items():
        if attr.startswith("__") or "cython" in attr:
            continue
        if isinstance(value, property) or type(value).__name__ == "getset_descriptor":
            props.add(attr)
        elif callable(value):
            methods.add(attr)
    return methods, props


def _check_params(where: str, stub_params: list[Param], embedded) -> None:
    assert [p.name for p in stub_params] == [e[0] for e in embedded], where
    for p, (pname, ctype, has_default) in zip(stub_params, embedded, strict=True):
        assert p.has_default == has_default, f"{where}: default of {pname}"
        want = _expected_annotation(ctype)
        if want is not None:
            assert want in p.annotation, f"{where}: {pname} is {ctype}, stub says {p.annotation}"


def _check_python_params(where: str, stub_params: list[Param], fn) -> None:
    got = [(q.name, q.default is not q.empty) for q in inspect.signature(fn).parameters.values()
           if q.name != "self"]
    assert [(p.name, p.has_default) for p in stub_params] == got, where


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_stub_lists_every_public_name_of_the_compiled_module(name):
    stub = _stub(name)
    mod, public = _compiled_api(name)
    assert public <= stub.names, f"missing from {name}.pyi: {sorted(public - stub.names)}"
    missing = {n for n in stub.names if not hasattr(mod, n) and n not in ("Fired",)}
    assert not missing, f"{name}.pyi declares names the module lacks: {sorted(missing)}"


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_stub_classes_match_the_compiled_classes(name):
    stub = _stub(name)
    mod = load(name, reference=False)
    for cname, scls in stub.classes.items():
        cls = getattr(mod, cname)
        methods, props = _class_members(cls)
        assert set(scls.methods) - {"__init__", "__repr__"} == methods, cname
        assert scls.properties == props, cname
        init = _embedded(cls.__doc__, cname) or []
        _check_params(f"{cname}.__init__", scls.methods.get("__init__", []), init)
        for meth in methods:
            emb = _embedded(getattr(cls, meth).__doc__, f"{cname}.{meth}")
            assert emb is not None, f"{cname}.{meth} has no embedded signature"
            _check_params(f"{cname}.{meth}", scls.methods[meth], emb)
    for fname, params in stub.functions.items():
        fn = getattr(mod, fname)
        if fn.__module__ != mod.__name__:  # a plain Python function of the spec module
            _check_python_params(fname, params, fn)
            continue
        emb = _embedded(fn.__doc__, fname)
        assert emb is not None, fname
        _check_params(fname, params, emb)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_reference_twin_matches_the_stub(name):
    stub = _stub(name)
    ref = load(name, reference=True)
    for const in stub.constants:
        assert hasattr(ref, const), f"{ref.__name__} lacks {const}"
    for fname, params in stub.functions.items():
        _check_python_params(fname, params, getattr(ref, fname))
    for cname, scls in stub.classes.items():
        cls = getattr(ref, cname)
        source = inspect.getsource(cls)
        for prop in scls.properties:
            assert hasattr(cls, prop) or f"self.{prop} =" in source, f"{cname}.{prop}"
        for meth, params in scls.methods.items():
            if meth == "__repr__":
                continue
            _check_python_params(f"{cname}.{meth}", params, getattr(cls, meth))

"""Read nvinfer configuration files the way gst-nvinfer does.

* ``.txt`` (any name not ending in ``.yml``/``.yaml``): GLib key files (GKeyFile). ``[group]`` headers,
  ``key=value`` pairs, ``#`` comments, lists separated by ``;`` (a trailing ``;`` is allowed), the escapes
  ``\\s \\n \\t \\r \\\\ \\;``; a repeated key keeps its last value, a repeated group is merged.
* ``.yml`` / ``.yaml``: the same key names under ``property:``, ``class-attrs-all:``, ``class-attrs-<id>:``;
  lists are one ``"a;b;c"`` string.
* ``[property]`` is mandatory. ``[class-attrs-all]`` is applied to every class first, then ``[class-attrs-<id>]``
  overrides; an id >= ``num-detected-classes`` is an error. Unknown keys are only warnings in nvinfer: they are
  collected in :attr:`NvinferConfig.warnings`, as are the other mismatches a DeepStream user would hit.
* File paths resolve relative to the directory of the config file (``custom-network-config`` is not resolved).

Reference: shared/spec/deepstream-contract.md §4 (key lists of gstnvinfer_property_parser.h, DeepStream 9.1).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROPERTY_KEYS = frozenset("""
gie-unique-id process-mode interval labelfile-path gpu-id secondary-reinfer-interval output-tensor-meta
disable-output-host-copy auto-inc-mem max-gpu-mem-per enable-dla use-dla-core dump-input-tensor dump-output-tensor
overwrite-input-tensor overwrite-output-tensor ip-tensor-file op-tensor-files raw-output-file-write batch-size
tensor-meta-pool-size network-mode model-engine-file int8-calib-file workspace-size output-blob-names is-classifier
network-type force-implicit-batch-dim infer-dims output-io-formats layer-device-precision model-color-format
net-scale-factor offsets mean-file maintain-aspect-ratio symmetric-padding scaling-filter scaling-compute-hw
network-input-order input-tensor-from-meta custom-lib-path parse-bbox-func-name parse-bbox-instance-mask-func-name
parse-segmentation-func-name engine-create-func-name parse-classifier-func-name custom-network-config model-file
proto-file uff-file uff-input-order input-dims uff-input-dims uff-input-blob-name tlt-encoded-model tlt-model-key
onnx-file num-detected-classes enable-dbscan cluster-mode crop-objects-to-roi-boundary strongly-typed
dynamic-properties warmup-engine stabilize-buffer-count classifier-type classifier-threshold classifier-async-mode
segmentation-threshold segmentation-output-order output-instance-mask input-object-min-width
input-object-min-height input-object-max-width input-object-max-height operate-on-gie-id operate-on-class-ids
filter-out-class-ids
""".split())

CLASS_ATTR_KEYS = frozenset("""
threshold pre-cluster-threshold post-cluster-threshold eps group-threshold minBoxes dbscan-min-score roi-top-offset
roi-bottom-offset detected-min-w detected-min-h detected-max-w detected-max-h border-color bg-color
nms-iou-threshold topk
""".split())

# Keys holding file paths that nvinfer resolves relative to the config file's directory.
PATH_KEYS = frozenset("""
labelfile-path model-engine-file int8-calib-file mean-file custom-lib-path model-file proto-file uff-file
tlt-encoded-model onnx-file
""".split())

CLASS_ATTR_DEFAULTS: dict[str, Any] = {
    "pre-cluster-threshold": 0.2, "post-cluster-threshold": 0.0, "eps": 0.0, "group-threshold": 0,
    "minBoxes": 0, "dbscan-min-score": 0.0, "nms-iou-threshold": 0.3, "topk": -1, "roi-top-offset": 0,
    "roi-bottom-offset": 0, "detected-min-w": 0, "detected-min-h": 0, "detected-max-w": 0, "detected-max-h": 0,
}
_CLASS_ATTR_TYPES = {
    "threshold": "double", "pre-cluster-threshold": "double", "post-cluster-threshold": "double", "eps": "double",
    "group-threshold": "int", "minBoxes": "int", "dbscan-min-score": "double", "nms-iou-threshold": "double",
    "topk": "int", "roi-top-offset": "int", "roi-bottom-offset": "int", "detected-min-w": "int",
    "detected-min-h": "int", "detected-max-w": "int", "detected-max-h": "int", "border-color": "double_list",
    "bg-color": "double_list",
}

NETWORK_MODE_NAMES = {0: "fp32", 1: "int8", 2: "fp16", 3: "best"}


class ConfigError(ValueError):
    """The file cannot be read as nvinfer reads it (nvinfer would fail to start)."""


# ----------------------------------------------------------------------------------------------------------------
# GKeyFile


def _unescape(value: str, where: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value):
                raise ConfigError(f"{where}: key file contains escape character at end of line")
            nxt = value[i + 1]
            mapping = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\", ";": "\\;", ",": "\\,"}
            if nxt not in mapping:
                raise ConfigError(f"{where}: key file contains invalid escape sequence '\\{nxt}'")
            out.append(mapping[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_keyfile(text: str, name: str = "<config>") -> dict[str, dict[str, str]]:
    """GKeyFile -> {group: {key: raw value}} (values unescaped except list separators)."""
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{lineno}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ConfigError(f"{where}: invalid group header {raw!r}")
            gname = line[1:-1]
            if "[" in gname or "]" in gname:
                raise ConfigError(f"{where}: invalid group name {gname!r}")
            current = groups.setdefault(gname, {})
            continue
        if "=" not in line:
            raise ConfigError(f"{where}: key file contains line {raw!r} which is not a key-value pair, group, "
                              "or comment")
        if current is None:
            raise ConfigError(f"{where}: key file does not start with a group")
        key, value = line.split("=", 1)
        key = key.rstrip()
        if not key:
            raise ConfigError(f"{where}: empty key name")
        if re.search(r"\[[^\]]*\]$", key):  # localized key "name[locale]": nvinfer never reads these
            continue
        current[key] = _unescape(value.lstrip(), where)
    return groups


def _split_list(value: str) -> list[str]:
    """GKeyFile list: ';'-separated, '\\;' escapes a separator, a trailing separator adds no element."""
    items, cur, i = [], [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in ";,":
            cur.append(value[i + 1])
            i += 2
            continue
        if value[i] == ";":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(value[i])
        i += 1
    if cur:
        items.append("".join(cur))
    return items


def _to_int(v: str, key: str) -> int:
    s = v.strip()
    if not re.fullmatch(r"[+-]?\d+", s):
        raise ConfigError(f"key '{key}': value '{v}' cannot be interpreted as a number (nvinfer reads an integer)")
    return int(s)


_DOUBLE_RE = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)", re.IGNORECASE)


def _to_double(v: str, key: str) -> float:
    s = v.strip()
    if not _DOUBLE_RE.fullmatch(s):  # g_ascii_strtod syntax (Python's float() also takes '1_0', which GLib refuses)
        raise ConfigError(f"key '{key}': value '{v}' cannot be interpreted as a float number")
    return float(s)


def _to_bool(v: str, key: str) -> bool:
    s = v.strip()
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    raise ConfigError(f"key '{key}': value '{v}' cannot be interpreted as a boolean (use 1/0 or true/false)")


# ----------------------------------------------------------------------------------------------------------------


@dataclass
class NvinferConfig:
    path: Path
    property: dict[str, str]
    class_groups: dict[str, dict[str, str]]  # "all" / "<id>" -> raw key values
    warnings: list[str] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.path.parent

    # -- typed access with nvinfer's defaults ------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.property

    def get_str(self, key: str, default: str | None = None) -> str | None:
        return self.property.get(key, default)

    def get_int(self, key: str, default: int = 0) -> int:
        return _to_int(self.property[key], key) if key in self.property else default

    def get_double(self, key: str, default: float = 0.0) -> float:
        return _to_double(self.property[key], key) if key in self.property else default

    def get_bool(self, key: str, default: bool = False) -> bool:
        return _to_bool(self.property[key], key) if key in self.property else default

    def get_list(self, key: str) -> list[str]:
        return _split_list(self.property[key]) if key in self.property else []

    def get_int_list(self, key: str) -> list[int]:
        return [_to_int(x, key) for x in self.get_list(key)]

    def get_double_list(self, key: str) -> list[float]:
        return [_to_double(x, key) for x in self.get_list(key)]

    def get_path(self, key: str) -> Path | None:
        """A file key resolved relative to the config file's directory, as nvinfer does."""
        v = self.property.get(key)
        if v is None or v == "":
            return None
        p = Path(v)
        return p if p.is_absolute() else (self.directory / p)

    # -- derived -------------------------------------------------------------------------------------------------
    @property
    def num_detected_classes(self) -> int:
        return self.get_int("num-detected-classes", 0)

    @property
    def cluster_mode(self) -> int:
        return self.get_int("cluster-mode", 0)

    @property
    def network_type(self) -> int:
        return self.get_int("network-type", 0)

    @property
    def is_instance_mask(self) -> bool:
        return self.network_type == 3

    def class_attrs(self) -> list[dict[str, Any]]:
        """Per-class attributes (index = class id) after class-attrs-all and class-attrs-<id> overrides."""
        n = self.num_detected_classes
        base = dict(CLASS_ATTR_DEFAULTS)
        base.update(self._typed_class_group(self.class_groups.get("all", {}), "class-attrs-all"))
        out = [dict(base) for _ in range(n)]
        for gid, kv in self.class_groups.items():
            if gid == "all":
                continue
            cid = int(gid)
            if cid >= n:
                raise ConfigError(f"[class-attrs-{gid}]: class id {cid} is not below num-detected-classes={n} "
                                  "(nvinfer fails to parse the config)")
            out[cid].update(self._typed_class_group(kv, f"class-attrs-{gid}"))
        return out

    @staticmethod
    def _typed_class_group(kv: dict[str, str], gname: str) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        for k, v in kv.items():
            t = _CLASS_ATTR_TYPES.get(k)
            if t is None:
                continue  # unknown: already a warning
            key = f"{gname}/{k}"
            if t == "double":
                typed[k] = _to_double(v, key)
            elif t == "int":
                typed[k] = _to_int(v, key)
            else:
                typed[k] = [_to_double(x, key) for x in _split_list(v)]
        if "threshold" in typed:  # deprecated alias, read before pre-cluster-threshold
            typed.setdefault("pre-cluster-threshold", typed["threshold"])
            if "pre-cluster-threshold" in kv:
                typed["pre-cluster-threshold"] = _to_double(kv["pre-cluster-threshold"], gname)
            typed.pop("threshold")
        if "topk" in typed and typed["topk"] < 0:
            raise ConfigError(f"[{gname}] topk={typed['topk']}: nvinfer only accepts topk >= 0 in the file "
                              "(leave the key out to keep all objects)")
        if "nms-iou-threshold" in typed and not (0.0 <= typed["nms-iou-threshold"] <= 1.0):
            raise ConfigError(f"[{gname}] nms-iou-threshold={typed['nms-iou-threshold']} is outside 0..1")
        return typed

    def expected_engine_path(self) -> Path | None:
        """The engine file name nvinfer generates (and looks for) when it builds from onnx-file."""
        onnx = self.get_path("onnx-file")
        if onnx is None:
            return None
        mode = self.get_int("network-mode", 0)
        eff = NETWORK_MODE_NAMES.get(mode, "fp32")
        if mode == 1 and self.get_path("int8-calib-file") is None:
            eff = "fp16"  # INT8 without a calibration file falls back to FP16 (and names the file so)
        batch = self.get_int("batch-size", 1)
        dev = f"dla{self.get_int('use-dla-core', 0)}" if self.get_bool("enable-dla") else f"gpu{self.get_int('gpu-id', 0)}"
        real = Path(os.path.realpath(onnx))
        return Path(f"{real}_b{batch}_{dev}_{eff}.engine")


def _load_yaml(path: Path) -> tuple[dict[str, str], dict[str, dict[str, str]], list[str]]:
    try:
        import yaml
    except ImportError as e:  # pragma: no cover
        raise ConfigError("reading .yml nvinfer configs needs PyYAML (pip install pyyaml)") from e
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: top level must be a mapping with a 'property' group")

    def flat(v: Any) -> str:
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, (list, tuple)):
            return ";".join(flat(x) for x in v)
        return "" if v is None else str(v)

    groups = {}
    for g, kv in doc.items():
        if kv is None:
            kv = {}
        if not isinstance(kv, dict):
            raise ConfigError(f"{path}: group '{g}' must be a mapping")
        groups[str(g)] = {str(k): flat(v) for k, v in kv.items()}
    return groups.get("property"), groups, []


def load_config(path: str | os.PathLike) -> NvinferConfig:
    """Parse an nvinfer config (.txt GKeyFile or .yml/.yaml) and collect nvinfer's warnings."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    if p.suffix.lower() in (".yml", ".yaml"):
        prop, groups, _ = _load_yaml(p)
    else:
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            raise ConfigError(f"{p}: not a text file") from None
        groups = parse_keyfile(text, str(p))
        prop = groups.get("property")
    if prop is None:
        raise ConfigError(f"{p}: the [property] group is mandatory (nvinfer fails without it)")

    warnings: list[str] = []
    class_groups: dict[str, dict[str, str]] = {}
    for g, kv in groups.items():
        if g == "property":
            for k in kv:
                if k not in PROPERTY_KEYS:
                    warnings.append(f"[property] unknown key '{k}': nvinfer only warns and ignores it (typo?)")
        elif g.startswith("class-attrs-"):
            gid = g[len("class-attrs-"):]
            if gid != "all" and not gid.isdigit():
                raise ConfigError(f"{p}: invalid group [{g}] (expected class-attrs-all or class-attrs-<id>)")
            class_groups[gid] = kv
            for k in kv:
                if k not in CLASS_ATTR_KEYS:
                    warnings.append(f"[{g}] unknown key '{k}': nvinfer only warns and ignores it (typo?)")
        else:
            warnings.append(f"unknown group [{g}]: nvinfer ignores it")

    cfg = NvinferConfig(path=p.resolve(), property=dict(prop), class_groups=class_groups, warnings=warnings)
    cfg.class_attrs()  # validate early (ids, topk, ranges)
    _semantic_warnings(cfg)
    return cfg


def _semantic_warnings(cfg: NvinferConfig) -> None:
    w = cfg.warnings
    for k in ("threshold",):
        for gid, kv in cfg.class_groups.items():
            if k in kv:
                w.append(f"[class-attrs-{gid}] 'threshold' is deprecated; use 'pre-cluster-threshold'")
    if "gie-unique-id" not in cfg.property or cfg.get_int("gie-unique-id", 0) <= 0:
        w.append("gie-unique-id is unset or 0: nvinfer requires a positive id and fails to initialise")
    ntype = cfg.network_type
    if ntype in (0, 3) and cfg.num_detected_classes <= 0:
        w.append("num-detected-classes is unset: nvinfer drops every detected object before clustering")
    if ntype == 0 and not cfg.has("cluster-mode"):
        w.append("cluster-mode is not set: nvinfer uses 0 (GROUP_RECTANGLES), which stock builds silently turn "
                 "into NMS with topk=20 and IoU 0.5 for every class")
    if (ntype == 3 or cfg.get_bool("output-instance-mask")) and cfg.cluster_mode != 4:
        w.append(f"cluster-mode={cfg.cluster_mode} with an instance-mask model (network-type=3 / "
                 "output-instance-mask=1): nvinfer only accepts cluster-mode=4 and fails")
    if ntype == 3 and not cfg.get_str("parse-bbox-instance-mask-func-name"):
        w.append("network-type=3 without parse-bbox-instance-mask-func-name: nvinfer fails (mask parser mandatory)")
    if ntype == 3 and not cfg.get_bool("output-instance-mask"):
        w.append("network-type=3 without output-instance-mask=1: masks are parsed but never attached to objects")
    if ntype == 0 and not cfg.get_str("parse-bbox-func-name"):
        w.append("parse-bbox-func-name is unset: nvinfer runs its built-in resnet10 'cov/bbox' parser")
    for k in ("workspace-size", "dynamic-properties"):
        if cfg.has(k):
            w.append(f"'{k}' has no effect in DeepStream 9.1")
    if cfg.has("enable-dbscan"):
        w.append("'enable-dbscan' is deprecated; use cluster-mode")
    # engine naming / rebuild
    onnx = cfg.get_path("onnx-file")
    engine = cfg.get_path("model-engine-file")
    if onnx is not None and not onnx.is_file():
        w.append(f"onnx-file {onnx} does not exist")
    if cfg.get_int("network-mode", 0) == 1 and cfg.get_path("int8-calib-file") is None:
        w.append("network-mode=1 (INT8) without int8-calib-file: nvinfer falls back to FP16 and names the engine "
                 "'..._fp16.engine'")
    expected = cfg.expected_engine_path()
    if engine is not None and expected is not None:
        if Path(os.path.realpath(engine)) != expected:
            w.append(f"model-engine-file {engine} is not the name nvinfer generates ({expected}): if it fails to "
                     "load, nvinfer rebuilds from onnx-file on every start and writes the generated name instead")
        elif not engine.exists():
            w.append(f"model-engine-file {engine} does not exist yet: nvinfer builds it on the first start "
                     "(minutes) and writes it next to the ONNX (keep that directory writable)")
    elif engine is None and expected is not None:
        w.append(f"model-engine-file is unset: nvinfer builds the engine from onnx-file on every start; set "
                 f"model-engine-file={expected} to reuse it")
    lib = cfg.get_path("custom-lib-path")
    if lib is not None and not lib.is_file():
        w.append(f"custom-lib-path {lib} does not exist: nvinfer fails to dlopen it")

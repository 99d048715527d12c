"""Independent numpy oracles of the face-detector decoders, written from the formulas in
shared/spec/face-models.md (never derived from the C++). One module per family; each exposes
``decode(outputs: dict, net_w, net_h, thr, **kw) -> (boxes [N,4], scores [N], landmarks [N,K,2])``
in network-input pixels, boxes clamped to the net, sorted by score (desc, stable in scan order),
candidates with any non-finite value dropped, empty boxes dropped.
"""

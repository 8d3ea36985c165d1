def test_t(app, source):
    for h in source.hosts():
        if "Membres/sarralbe" in h.groups: print(h.host, getattr(h,'name',None), h.groups)

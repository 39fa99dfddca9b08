import json, sys, math, numpy as np
from collections import defaultdict
g=defaultdict(list)
fac=float(sys.argv[1])
for f in sys.argv[2:]:
  for l in open(f):
    r=json.loads(l); g[(r['file'],r['s'],r['steps'])].append(r)
def gaps(v,fl):
    x=list(np.log(np.maximum(np.sort(v)[::-1],fl)))+[math.log(fl)]
    return np.array(x[:-1])-np.array(x[1:])
for (f,s,st),rs in sorted(g.items()):
    specs=np.array([r['spectrum'] for r in rs]); d=specs.shape[1]; fl=s*s*fac
    L=np.log(np.maximum(specs,fl)).mean(axis=0); x=list(L)+[math.log(fl)]
    G=np.array(x[:-1])-np.array(x[1:]); o=np.argsort(G)[::-1]
    q=G[o[0]]/G[o[1]] if G[o[1]]>0 else float('inf')
    cnt=[int((sp>s*s).sum()) for sp in specs]
    lo=[int((sp>2*s*s).sum()) for sp in specs]; hi=[int((sp>s*s/2).sum()) for sp in specs]
    kg=[int(np.argmax(gaps(sp,fl)))+1 for sp in specs]
    print(f"{f:18s} s={s:<5} st={st} pos={o[0]+1:3d} q={q:6.2f} G={G[o[0]]:.2f} counts={cnt} [{min(lo)},{max(hi)}] memberpos={kg} secs={np.mean([r['secs'] for r in rs]):.1f}")

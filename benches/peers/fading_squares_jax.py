# JAX (float32) re-implementation of the paper's fading-squares model (1,168,572 parameters), used
# as a speed and trajectory anchor. Usage: python fading_squares_jax.py [const|random] [steps] [weight_decay]
# Time per step: read the elapsed seconds printed at step 0 and at the last step (the first includes
# compilation): (t_last - t_0) / (steps - 1).
# Timing only (what benches/peers/compare.py runs): python fading_squares_jax.py --time N
# compiles, runs 3 warm-up steps, then times N steps one by one (each waits for its result,
# jax.block_until_ready; the batch is drawn before the clock starts) and prints one JSON line
# with the median step time in milliseconds.
import jax, jax.numpy as jnp, numpy as np, optax, os, sys, time, json
TIME_STEPS = None
if len(sys.argv) > 2 and sys.argv[1] == '--time':
    TIME_STEPS = int(sys.argv[2]); sys.argv = sys.argv[:1]
NOISE = sys.argv[1] if len(sys.argv)>1 else 'const'   # 'const' = authors' code (z + sigma*1); 'random' = z + sigma*eps
ITERS = int(sys.argv[2]) if len(sys.argv)>2 else 5000
WD = float(sys.argv[3]) if len(sys.argv)>3 else 0.5
rng = np.random.RandomState(1)
def train_sample(n=100):
    v = rng.rand(n,1); img = np.zeros((n,32,32)); img[:,13:19,13:19] = np.repeat(v,36,axis=1).reshape(n,6,6)
    return jnp.array(img.reshape(n,1,32,32), dtype=jnp.float32), v
def uinit(key, shape, fan_in):
    b = 1/np.sqrt(fan_in); return jax.random.uniform(key, shape, minval=-b, maxval=b)
def conv_init(key, cin, cout, k):
    k1,k2 = jax.random.split(key); fi = cin*k*k
    return (uinit(k1,(cout,cin,k,k),fi), uinit(k2,(cout,),fi))
def conv(p, x, pad):
    W,b = p
    y = jax.lax.conv_general_dilated(x, W, (1,1), [(pad,pad),(pad,pad)], dimension_numbers=('NCHW','OIHW','NCHW'))
    return y + b[None,:,None,None]
lrelu = lambda x: jnp.where(x>0, x, 0.2*x)
def cnn_init(key, nin, nout, nh=16):
    k = jax.random.split(key,3)
    return [conv_init(k[0],nin,nh,3), conv_init(k[1],nh,nh,1), conv_init(k[2],nh,nout,3)]
def cnn(p,x): return conv(p[2], lrelu(conv(p[1], lrelu(conv(p[0],x,1)),0)),1)
def lin_init(key, nin, nout):
    k1,k2 = jax.random.split(key); return (uinit(k1,(nin,nout),nin), uinit(k2,(nout,),nin))
def mlp_init(key, nin, nout, nh=24):
    k = jax.random.split(key,4); d=[nin,nh,nh,nh,nout]; return [lin_init(k[i],d[i],d[i+1]) for i in range(4)]
def mlp(p,x):
    for i,(W,b) in enumerate(p):
        x = x@W+b
        if i<3: x = lrelu(x)
    return x
def down(x):
    bs,d,H,W = x.shape
    return x.reshape(bs,d,H//2,2,W//2,2).transpose(0,3,5,1,2,4).reshape(bs,d*4,H//2,W//2)
def up(x):
    bs,D,h,w = x.shape; d=D//4
    return x.reshape(bs,2,2,d,h,w).transpose(0,3,4,1,5,2).reshape(bs,d,h*2,w*2)
def icnn(p, x, C):
    x0,x1 = x[:,:C//2], x[:,C//2:]
    st = jnp.tanh(cnn(p,x0)); s,t = st[:,:C//2], st[:,C//2:]; s = s - s.mean(1, keepdims=True)
    return jnp.concatenate([x0, jnp.exp(s)*x1+t],1), s.sum((1,2,3))
def icnn_inv(p, z, C):
    z0,z1 = z[:,:C//2], z[:,C//2:]
    st = jnp.tanh(cnn(p,z0)); s,t = st[:,:C//2], st[:,C//2:]; s = s - s.mean(1, keepdims=True)
    return jnp.concatenate([z0, (z1-t)*jnp.exp(-s)],1)
def ahf(p, x, parity):
    x0,x1 = x[:,:512], x[:,512:]
    if parity: x0,x1 = x1,x0
    s = mlp(p['s'],x0); s = s - s.mean(1,keepdims=True); t = mlp(p['t'],x0)
    z1 = jnp.exp(s)*x1+t
    return (jnp.concatenate([z1,x0],1) if parity else jnp.concatenate([x0,z1],1)), s.sum(1)
def ahf_inv(p, z, parity):
    z0,z1 = z[:,:512], z[:,512:]
    if parity: z0,z1 = z1,z0
    s = mlp(p['s'],z0); s = s - s.mean(1,keepdims=True); t = mlp(p['t'],z0)
    x1 = (z1-t)*jnp.exp(-s)
    return jnp.concatenate([x1,z0],1) if parity else jnp.concatenate([z0,x1],1)
key = jax.random.PRNGKey(1); ks = jax.random.split(key, 10)
perm4 = [np.random.RandomState(i).permutation(4) for i in range(2)]
perm16 = [np.random.RandomState(10+i).permutation(16) for i in range(2)]
params = dict(c4=[cnn_init(ks[i],2,4) for i in range(3)], c16=[cnn_init(ks[3+i],8,16) for i in range(3)],
              m=[dict(s=mlp_init(ks[6+2*i],512,512), t=mlp_init(jax.random.fold_in(ks[6+2*i],9),512,512)) for i in range(2)],
              A=jnp.eye(1024))
def g(params, x):  # data -> latent
    ld = 0.; x = down(x)
    for i in range(3):
        x, l = icnn(params['c4'][i], x, 4); ld += l
        if i<2: x = x[:, perm4[i]]
    x = down(x)
    for i in range(3):
        x, l = icnn(params['c16'][i], x, 16); ld += l
        if i<2: x = x[:, perm16[i]]
    x = x.reshape(x.shape[0], -1)
    for i in range(2):
        x, l = ahf(params['m'][i], x, i); ld += l
    return x, ld
def f(params, z):  # latent -> data
    for i in reversed(range(2)): z = ahf_inv(params['m'][i], z, i)
    z = z.reshape(-1,16,8,8)
    for i in reversed(range(3)):
        if i<2: z = z[:, np.argsort(perm16[i])]
        z = icnn_inv(params['c16'][i], z, 16)
    z = up(z)
    for i in reversed(range(3)):
        if i<2: z = z[:, np.argsort(perm4[i])]
        z = icnn_inv(params['c4'][i], z, 4)
    return up(z)
sigma = 0.01; D=1024
def loss_fn(params, x, eps):
    z, ld = g(params, x)
    A = jnp.tril(params['A']); cov = A@A.T + sigma**2*jnp.eye(D)
    y = z + (sigma*jnp.ones_like(z) if NOISE=='const' else sigma*eps)
    Lc = jnp.linalg.cholesky(cov); sol = jax.scipy.linalg.solve_triangular(Lc, y.T, lower=True)
    lp = -0.5*(D*jnp.log(2*jnp.pi) + 2*jnp.log(jnp.diag(Lc)).sum() + (sol**2).sum(0))
    return -(lp+ld).mean()
opt = optax.chain(optax.add_decayed_weights(WD), optax.adam(3e-4)) if WD>0 else optax.adam(3e-4)
st = opt.init(params)
@jax.jit
def step(params, st, x, eps):
    l, gr = jax.value_and_grad(loss_fn)(params, x, eps)
    u, st = opt.update(gr, st, params); return optax.apply_updates(params, u), st, l
print('n params', sum(int(np.prod(a.shape)) for a in jax.tree_util.tree_leaves(params)), flush=True)
if TIME_STEPS is not None:
    ek = jax.random.PRNGKey(5); times = []; load0 = os.getloadavg()[0]
    for k in range(3 + TIME_STEPS):
        x,_ = train_sample(); ek, sk = jax.random.split(ek); eps = jax.random.normal(sk,(100,D))
        jax.block_until_ready((x, eps))
        t = time.perf_counter()
        params, st, l = jax.block_until_ready(step(params, st, x, eps))
        if k >= 3: times.append(time.perf_counter() - t)
    print(json.dumps(dict(median_step_ms=float(np.median(times))*1e3, min_step_ms=min(times)*1e3,
                          max_step_ms=max(times)*1e3, n_timed=len(times), loss=float(l),
                          load_before=load0, load_after=os.getloadavg()[0],
                          jax=jax.__version__, devices=str(jax.devices()))))
    sys.exit(0)
# invertibility check
x,_ = train_sample(); z,ld = g(params,x); print('recon err', float(jnp.abs(f(params,z)-x).max()), 'logdet max', float(jnp.abs(ld).max()), flush=True)
t0=time.time(); ek = jax.random.PRNGKey(5); log=[]
for k in range(ITERS):
    x,_ = train_sample(); ek, sk = jax.random.split(ek)
    params, st, l = step(params, st, x, jax.random.normal(sk,(100,D)))
    if k%500==0 or k==ITERS-1:
        A = np.array(jnp.tril(params['A'])); ev = np.linalg.eigvalsh(A@A.T)[::-1]
        print(k, 'loss', float(l), 'top5 eig', np.round(ev[:5],5), 'n>1e-2', int((ev>1e-2).sum()), 'n>1e-3', int((ev>1e-3).sum()), f'{time.time()-t0:.3f}s', flush=True)
        log.append(dict(k=k, loss=float(l), eig=ev[:20].tolist()))
print(json.dumps(dict(noise=NOISE, iters=ITERS, seconds_per_step_after_first=(time.time()-t0)/max(ITERS,1))))
# projection figure data: correlation of top-eigvec projection with brightness
x, v = train_sample(); z,_ = g(params,x); z=np.array(z)
A = np.array(jnp.tril(params['A'])); w,U = np.linalg.eigh(A@A.T); u1 = U[:,-1]
proj = z@u1; print('corr(proj, brightness)=', np.corrcoef(proj, v[:,0])[0,1])
from scipy.stats import spearmanr; print('spearman', spearmanr(proj, v[:,0]).correlation)

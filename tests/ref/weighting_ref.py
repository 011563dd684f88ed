"""Reference weights for tests/test_weighting_ref.c, computed independently with PyTorch.

Follows LibMTL's published algorithms (IMTL-G, Aligned-MTL, PCGrad, GradVac, DB-MTL, FAMO with torch's Adam,
UW and GLS via autograd) and solves the QPs a different way from the C code: MGDA and UPGrad by enumerating
active sets exactly, CAGrad and Nash-MTL by L-BFGS in an unconstrained parametrisation.
Prints one line per check: name followed by the expected values. Usage: weighting_ref.py
"""
import itertools
import math

import torch

torch.set_default_dtype(torch.float64)
# Must match G3 in tests/test_weighting_ref.c.
G = torch.tensor([[1.0, -2.0, 0.5, 0.0, 3.0],
                  [-1.0, 1.0, 2.0, 0.5, -1.0],
                  [0.2, 0.3, -3.0, 1.0, 1.0]])
L = torch.tensor([1.5, 0.7, 2.0])
n = G.shape[0]
M = G @ G.t()


def out(name, v):
    print(name, " ".join("%.9g" % float(x) for x in v))


def min_norm_exact(M):
    best, best_a = math.inf, None
    for k in range(1, n + 1):
        for S in itertools.combinations(range(n), k):
            S = list(S)
            K = torch.zeros(k + 1, k + 1)
            K[:k, :k] = 2 * M[S][:, S]
            K[:k, k] = 1
            K[k, :k] = 1
            rhs = torch.zeros(k + 1)
            rhs[k] = 1
            try:
                sol = torch.linalg.solve(K, rhs)
            except RuntimeError:
                continue
            a = torch.zeros(n)
            a[S] = sol[:k]
            if (a < -1e-12).any():
                continue
            val = float(a @ M @ a)
            if val < best:
                best, best_a = val, a
    return best_a


def box_qp_exact(Q, u):
    """argmin v^T Q v s.t. v >= u, by active-set enumeration and KKT checks."""
    for k in range(0, n + 1):
        for A in itertools.combinations(range(n), k):
            A = list(A)
            F = [i for i in range(n) if i not in A]
            v = u.clone()
            if F:
                v[F] = torch.linalg.solve(Q[F][:, F], -Q[F][:, A] @ u[A]) if A else torch.zeros(len(F))
            if (v < u - 1e-12).any():
                continue
            grad = Q @ v
            if A and (grad[A] < -1e-12).any():
                continue
            return v
    raise RuntimeError("no KKT point")


# MGDA (no normalisation)
out("mgda", min_norm_exact(M))

# PCGrad, two tasks (order does not matter for two tasks); LibMTL's batch_weight
g2 = G[:2]
bw = torch.ones(2)
for i in range(2):
    pc = g2[i].clone()
    for j in range(2):
        gij = pc @ g2[j]
        if gij < 0:
            pc -= gij * g2[j] / (g2[j].norm() ** 2 + 1e-8)
            bw[j] -= gij / (g2[j].norm() ** 2 + 1e-8)
out("pcgrad2", bw)

# IMTL-G (LibMTL)
gu = G / G.norm(dim=-1, keepdim=True)
Dm = G[0:1].repeat(n - 1, 1) - G[1:]
U = gu[0:1].repeat(n - 1, 1) - gu[1:]
alpha = (G[0] @ U.t()) @ torch.inverse(Dm @ U.t())
out("imtl_g", torch.cat(((1 - alpha.sum()).view(1), alpha)))

# Aligned-MTL (LibMTL)
lmbda, V = torch.linalg.eigh(M)
tol = lmbda.max() * n * torch.finfo(torch.float32).eps
rank = int((lmbda > tol).sum())
order = torch.argsort(lmbda, descending=True)
lmbda, V = lmbda[order][:rank], V[:, order][:, :rank]
B = lmbda[-1].sqrt() * ((V @ torch.diag(1 / lmbda.sqrt())) @ V.t())
out("aligned_mtl", B.sum(0))

# CAGrad (LibMTL objective, c = 0.5, rescale 1), solved by L-BFGS over softmax logits
c = 0.5 * (M.mean() + 1e-8).sqrt() + 1e-8
b = torch.ones(n) / n
z = torch.zeros(n, requires_grad=True)
opt = torch.optim.LBFGS([z], lr=1, max_iter=2000, tolerance_grad=1e-14, tolerance_change=1e-16,
                        line_search_fn="strong_wolfe")


def cag_closure():
    opt.zero_grad()
    x = torch.softmax(z, 0)
    f = x @ M @ b + c * (x @ M @ x + 1e-8).sqrt()
    f.backward()
    return f


for _ in range(5):
    opt.step(cag_closure)
x = torch.softmax(z, 0).detach()
lam = c / ((x @ M @ x).sqrt() + 1e-8)
out("cagrad", (1 / n + lam * x) / (1 + 0.5 ** 2))

# UPGrad (torchjd: Gram normalised by its Frobenius norm, + 1e-4 I), exact box QPs
Q = M / M.norm() + 1e-4 * torch.eye(n)
out("upgrad", sum(box_qp_exact(Q, torch.eye(n)[i] / n) for i in range(n)))

# Nash-MTL: A alpha = 1 / alpha with A = M / ||M||_F, by L-BFGS on log alpha
A = M / M.norm()
beta = torch.zeros(n, requires_grad=True)
opt = torch.optim.LBFGS([beta], lr=1, max_iter=2000, tolerance_grad=1e-14, tolerance_change=1e-16,
                        line_search_fn="strong_wolfe")


def nash_closure():
    opt.zero_grad()
    a = beta.exp()
    f = 0.5 * a @ A @ a - beta.sum()
    f.backward()
    return f


for _ in range(5):
    opt.step(nash_closure)
out("nash_mtl", beta.exp().detach())

# GradVac, two tasks, two steps, beta = 0.01 (LibMTL, whole model)
rho_T = torch.zeros(2, 2)
for step in range(2):
    bw = torch.ones(2)
    for i in range(2):
        pc = g2[i].clone()
        j = 1 - i
        rho = pc @ g2[j] / (pc.norm() * g2[j].norm())
        if rho < rho_T[i, j]:
            w = pc.norm() * (rho_T[i, j] * (1 - rho ** 2).sqrt() - rho * (1 - rho_T[i, j] ** 2).sqrt()) / (
                g2[j].norm() * (1 - rho_T[i, j] ** 2).sqrt())
            pc += g2[j] * w
            bw[j] += w
        rho_T[i, j] = 0.99 * rho_T[i, j] + 0.01 * rho
    out("gradvac2_step%d" % step, bw)

# UW (LibMTL): total = sum L / (2 exp(s)) + s / 2; gradient w.r.t. s by autograd at s = (0, 1, -1)
s = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
tot = (L / (2 * s.exp()) + s / 2).sum()
tot.backward()
out("uw_grad", s.grad)

# GLS: d (prod L)^(1/n) / d L by autograd
Lg = L.clone().requires_grad_(True)
(Lg.prod() ** (1 / n)).backward()
out("gls", Lg.grad)

# FAMO (LibMTL, min losses 0): three steps with torch's Adam on the logits
losses_seq = [torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0.5, 1.8, 4.0]), torch.tensor([0.45, 1.0, 3.9])]
wl = torch.zeros(n, requires_grad=True)
wopt = torch.optim.Adam([wl], lr=0.025, weight_decay=0.001)
prev = None
for k, cur in enumerate(losses_seq):
    if prev is not None:
        delta = (prev + 1e-8).log() - (cur + 1e-8).log()
        with torch.enable_grad():
            d = torch.autograd.grad(torch.softmax(wl, -1), wl, grad_outputs=delta.detach())[0]
        wopt.zero_grad()
        wl.grad = d
        wopt.step()
    zz = torch.softmax(wl, -1).detach()
    Dl = cur + 1e-8
    cc = (zz / Dl).sum()
    out("famo_step%d" % k, zz / (cc * Dl))
    prev = cur

# DB-MTL (LibMTL), two steps on G[:2] with losses L[:2] then 0.5 L[:2]; alpha of step 2
buf = torch.zeros(2, G.shape[1])
for step, scale in ((1, 1.0), (2, 0.5)):
    grads = g2 / (scale * L[:2] + 1e-8).unsqueeze(1)
    buf = grads + (0.9 / step ** 0.5) * (buf - grads)
    u = buf.norm(dim=-1)
    al = u.max() / (u + 1e-8)
out("dbmtl_step2", al)
out("dbmtl_step2_g", (al.unsqueeze(1) * buf).sum(0))

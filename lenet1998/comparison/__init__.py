"""The classifiers the paper compares LeNet-5 with (Sec. III-C, Fig. 9), one per file, named as the
paper names them. Each works on flattened images (N, D) float64 in [0, 1] and gives class scores
(N, 10), higher = more likely (Fig. 10 rejects on the difference of the top two scores):

- linear.py:        III-C.1 linear classifier (one weighted sum per class + bias)
- pairwise.py:      III-C.1 pairwise linear classifier (45 units i/j)
- knn.py:           III-C.2 K-nearest neighbours, Euclidean
- pca_quadratic.py: III-C.3 40 PCA + quadratic classifier
- rbf_network.py:   III-C.4 1000 RBF units + linear layer
- svm.py:           III-C.11 SVM poly 4 (scikit-learn's SVC)
- tangent_distance.py: III-C.10 [16x16] nearest neighbour by tangent distance, Euclidean prefilter
- rejection.py:     Fig. 10's rejection rate; rows.py: the rows as data; train.py: `lenet train <row>`
"""
